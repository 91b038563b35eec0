import v8 from 'node:v8';
import { startApp } from './app.js';
import { ConfigError, loadConfig } from './config/config.js';
import { createLogger } from './observability/logger.js';
import { startTracing } from './observability/tracing.js';

// Prisma's query compiler is WebAssembly. V8's optimising tier compiled it a second time: idle RSS
// 210 MB with it, 141 MB without, and Me, CreateReport and Reports were served as fast either way
// (A/B of the same build). Set before the first query instantiates the module.
v8.setFlagsFromString('--no-wasm-dynamic-tiering');
v8.setFlagsFromString('--no-wasm-tier-up');

/** Entry point: validate the environment, start, drain on SIGTERM/SIGINT, reload on SIGHUP. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    createLogger('info').fatal({ variable: error.variable }, error.message);
    process.exit(1);
  }
  // Before anything logs or serves: log lines then carry the active trace id.
  const tracing = await startTracing(config);
  const logger = createLogger(config.logLevel, undefined, tracing?.logFields);
  let app;
  try {
    app = await startApp(config, logger, tracing);
  } catch (error) {
    logger.fatal({ err: error }, `failed to start: ${(error as Error).message}`);
    process.exit(1);
  }

  // One drain, whatever NODE_ENV is and however many signals arrive: a second SIGTERM or SIGINT
  // (an impatient operator, a process manager repeating itself) must not cut it short. Only
  // SHUTDOWN_TIMEOUT_MS forces an exit, after securing what must not be lost.
  let draining = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (draining) {
      logger.warn({ signal }, 'already draining; the drain goes on until done or SHUTDOWN_TIMEOUT_MS');
      return;
    }
    draining = true;
    logger.info({ signal, timeoutMs: config.shutdownTimeoutMs }, 'shutting down: draining requests and sockets');
    const force = setTimeout(() => {
      logger.error({ abandoned: app.abandon() }, 'shutdown timed out; exiting before the drain finished');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    force.unref();
    app.close().then(
      async () => {
        // The last spans are sent before the process exits; a collector that is down does not fail the drain.
        await tracing?.shutdown().catch((error: unknown) => logger.warn({ err: error }, 'could not send the last traces'));
        logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error, abandoned: app.abandon() }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  // As nginx does: SIGHUP reloads (the trusted-documents manifest) without a restart.
  // A reload that fails is logged and changes nothing; the process never exits on SIGHUP.
  process.on('SIGHUP', () => {
    logger.info({ signal: 'SIGHUP' }, 'reloading');
    app.reload();
  });
}

void main();
