import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { AnalyticsService } from './analytics/service.js';
import { AuditLog } from './observability/auditLog.js';
import { AuditQueries } from './audit/service.js';
import type { Config } from './config/config.js';
import { openDatabase } from './db/database.js';
import { migrationTarget } from './migrations/schemaEngine.js';
import { applyMigrationsAtStartUp } from './migrations/startUpMigrations.js';
import { ExportsService } from './exports/service.js';
import { createApollo } from './graphql/apollo.js';
import { createErrorMasker } from './graphql/errorMasking.js';
import { resolvers } from './graphql/resolvers.js';
import { buildSchema, loadTypeDefs } from './graphql/schema.js';
import { registerExportDownload } from './http/exportDownload.js';
import { registerGraphQLRoute } from './http/graphqlRoute.js';
import { InFlightRequests } from './http/inFlightRequests.js';
import { registerLocalIde } from './http/localIde.js';
import { registerMetricsRoute, registerProbes } from './http/probes.js';
import { createFastify } from './http/server.js';
import { attachWebSocket } from './http/websocket.js';
import { AuthState } from './identity/authState.js';
import { IdentityService } from './identity/service.js';
import { AccessTokens } from './identity/tokens.js';
import { createPubSub } from './messaging/pubsub.js';
import { createLogger, type Logger } from './observability/logger.js';
import { Metrics } from './observability/metrics.js';
import type { Tracing } from './observability/tracing.js';
import { RecentErrors } from './observability/recentErrors.js';
import { ReportsService } from './reports/service.js';
import { ClientGate } from './security/clientGate.js';
import { RequestBudget } from './security/requestBudget.js';
import { Admission, documentChecks } from './graphql/admission.js';
import { createLimiterStore } from './security/limiterStore.js';
import { MeasuredLimits } from './security/measuredLimits.js';
import { QueryCosts } from './security/queryCost.js';
import { queryLimitRules } from './security/queryLimits.js';
import { rateLimitedCoordinates } from './security/rateLimitDirective.js';
import { SecurityEvents } from './security/securityEvents.js';
import { AlertService } from './system/alerts.js';
import { SystemService } from './system/service.js';
import { TrustedDocuments } from './security/trustedDocuments.js';
import type { Services } from './services.js';

export interface App {
  url: string;
  port: number;
  services: Services;
  fastify: FastifyInstance;
  /** Drains HTTP and WebSocket, releases export leases, flushes the audit log, closes connections. */
  close(): Promise<void>;
  /** Re-reads what can change without a restart (SIGHUP): today the trusted-documents manifest. */
  reload(): void;
  /** When the drain ran out of time: secures what must not be lost and says what was abandoned. */
  abandon(): { stage: string; auditRowsSpilled: number; webSockets: number };
}

/**
 * Builds and starts one server: database (migrated), services, schema, HTTP and WebSocket. With
 * `tracing` (src/main.ts starts it when OTEL_EXPORTER_OTLP_ENDPOINT is set), the modules that
 * create spans are loaded and wired in; without it they are never imported.
 */
export async function startApp(config: Config, logger: Logger = createLogger(config.logLevel), tracing?: Tracing): Promise<App> {
  const traced = tracing
    ? await Promise.all([import('./graphql/tracing.js'), import('./http/tracing.js')]).then(([graphql, http]) => ({ graphql, http, tracer: tracing.tracer }))
    : undefined;
  await applyMigrationsAtStartUp(migrationTarget(config.databaseUrl, config.dataDir));
  const db = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    poolSize: config.dbPoolSize,
    connectTimeoutMs: config.dbConnectTimeoutMs,
    statementTimeoutMs: config.dbStatementTimeoutMs,
    traceStatement: tracing?.statementSpan,
  });
  // ioredis is loaded only when Redis is configured: the embedded default never needs it.
  const redis = config.redisUrl
    ? (await import('./messaging/redis.js')).connectRedis(config.redisUrl, logger, config.dbConnectTimeoutMs)
    : undefined;
  const metrics = new Metrics();
  db.onQuery((ms) => metrics.dbQueryDuration.observe(ms / 1000));
  const pubsub = createPubSub({
    logger,
    redis: redis ? { publisher: redis.commands, subscriber: redis.subscriber, prefix: config.redisPrefix } : undefined,
  });
  const limiterStore = createLimiterStore(redis?.commands, config.redisPrefix);
  const audit = new AuditLog({
    db,
    logger,
    metrics,
    spillDir: path.join(config.dataDir, 'audit-spill'),
    onSpill: (rows, reason) =>
      alerts.raiseInBackground({
        severity: 'CRITICAL',
        kind: 'AUDIT_SPILLED',
        message: `${rows} audit rows were written to the local spill file (${reason}); they are replayed at the next start`,
      }),
  });
  await audit.replaySpilled();
  const alerts = new AlertService({ db, pubsub, metrics, logger, webhookUrl: config.alertWebhookUrl });
  const security = new SecurityEvents({
    audit,
    metrics,
    store: limiterStore,
    pubsub,
    logger,
    autoBlockThreshold: config.autoBlockThreshold,
    raiseAlert: (alert) => alerts.raiseInBackground(alert),
  });
  const tokens = await AccessTokens.create(config);
  const authState = new AuthState(db, pubsub);
  const identity = new IdentityService({ config, db, tokens, authState, store: limiterStore, security, audit, metrics, logger });
  const built = buildSchema({ typeDefs: loadTypeDefs(config.schemaDir), resolvers, config, limiterStore });
  const schema = traced ? traced.graphql.traceResolvers(built, resolvers, traced.tracer) : built;
  metrics.declareRateLimits(rateLimitedCoordinates(schema));
  const measuredLimits = new MeasuredLimits(config.limitModes, metrics, logger);
  const queryCosts = new QueryCosts();
  const validationRules = queryLimitRules(
    {
      maxDepth: config.maxQueryDepth,
      maxAliases: config.maxAliases,
      maxDirectives: config.maxDirectives,
      maxCost: config.maxCost,
      maxTokens: config.maxTokens,
    },
    queryCosts,
    measuredLimits,
  );
  // Checked against the schema and the query limits at load, before anything is served.
  const trustedDocuments = config.trustedDocuments
    ? TrustedDocuments.load({
        file: config.trustedDocuments,
        mode: config.trustedDocumentsMode,
        checks: documentChecks(config, schema, validationRules),
        metrics,
        logger,
      })
    : undefined;
  const recentErrors = new RecentErrors();
  const system = new SystemService({ config, db, redis, pubsub, logger, metrics, recentErrors, alerts, authState, tokens, security });
  const services: Services = {
    config,
    logger,
    db,
    redis,
    pubsub,
    metrics,
    recentErrors,
    limiterStore,
    audit,
    security,
    tokens,
    authState,
    identity,
    alerts,
    system,
    reports: new ReportsService(db),
    analytics: new AnalyticsService({ db, metrics, audit }),
    auditQueries: new AuditQueries(db, audit),
    // Links point at PUBLIC_URL, else at this server (its URL is known once it listens).
    exports: new ExportsService({ db, audit, logger, pubsub, config, baseUrl: () => config.publicUrl ?? url }),
    trustedDocuments,
  };

  if (config.adminEmail && config.adminPassword) await identity.bootstrapAdmin(config.adminEmail, config.adminPassword);

  const admission = new Admission(
    services,
    new ClientGate(config, security),
    new RequestBudget(config.rateLimitPerMinute, limiterStore, security, measuredLimits),
    schema,
    validationRules,
    queryCosts,
    measuredLimits,
  );
  const fastify = await createFastify(config, logger, metrics, admission);
  if (traced) traced.http.traceHttpRequests(fastify, traced.tracer, admission.gate.trustProxy);
  registerProbes(fastify, services);
  registerMetricsRoute(fastify, config, services);
  registerExportDownload(fastify, services);
  // Like Apollo Sandbox, the local IDE is for development only.
  if (!config.production) registerLocalIde(fastify);
  const maskError = createErrorMasker(logger, config.env, () => metrics.databaseUnavailable.inc());
  const apollo = createApollo({
    schema,
    config,
    logger,
    validationRules: admission.validationRules,
    parseOptions: admission.parseOptions,
    accounting: admission,
    maskError,
    trustedDocuments,
    fastify,
    refusedDocuments: admission.refusedDocuments,
    // The tracing plugin only when tracing is on: every plugin with per-request hooks costs throughput.
    extraPlugins: traced ? [traced.graphql.operationTracingPlugin(traced.tracer)] : undefined,
  });
  await apollo.start();
  const inFlight = new InFlightRequests();
  registerGraphQLRoute(fastify, apollo, admission, services.trustedDocuments, metrics, inFlight);
  const websocket = attachWebSocket({
    server: fastify.server,
    schema,
    config,
    admission,
    metrics,
    maskError,
    tracing: traced ? traced.http.webSocketTracing(traced.tracer, admission.gate.trustProxy) : undefined,
  });

  await fastify.listen({ port: config.port, host: config.host });
  const { port } = fastify.server.address() as AddressInfo;
  const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  logger.info({ url: `${url}/graphql`, env: config.env, database: db.provider, redis: Boolean(redis) }, 'listening');
  if (measuredLimits.active) {
    // Said at every start, so a rollout left half-way (a limit still only measured) shows in the logs.
    logger.warn({ measuredLimits: measuredLimits.measured(), env: config.env }, 'limits in measure mode: operations over them run, counted in bastion_query_limit_measured_total');
  }
  services.exports.start();
  services.system.start();

  let closing: Promise<void> | undefined;
  let stage = 'serving';
  const step = async (name: string, work: () => unknown) => {
    stage = name;
    await work();
  };
  return {
    url,
    port,
    services,
    fastify,
    close() {
      closing ??= (async () => {
        await step('closing WebSockets (1001)', () => websocket.close());
        await step('finishing in-flight HTTP requests', () => fastify.close()); // Apollo's drain plugin stops Apollo
        await step('finishing requests whose clients hung up', () => inFlight.idle());
        await step('releasing export leases', () => services.exports.close()); // a running export stops after its batch
        await step('stopping the sampler and alert rules', () => services.system.stop());
        await step('stopping alert deliveries', () => alerts.close());
        await step('flushing the audit log', () => audit.close());
        await step('closing connections', async () => {
          await pubsub.close();
          await redis?.close();
          await db.close();
        });
        stage = 'stopped';
      })();
      return closing;
    },
    reload() {
      if (trustedDocuments) trustedDocuments.reload();
      else logger.info('reload: nothing to reload (TRUSTED_DOCUMENTS is unset)');
    },
    abandon() {
      // Nothing accepted may be lost: rows the database did not take yet go to the spill file.
      const auditRows = audit.backlog;
      if (auditRows > 0) audit.spillBacklog('the shutdown timed out');
      return { stage, auditRowsSpilled: auditRows, webSockets: websocket.wss.clients.size, requestsInFlight: inFlight.size };
    },
  };
}
