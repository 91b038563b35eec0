import { randomBytes } from 'node:crypto';
import type { Client } from 'graphql-ws';
import { startServerProcess, type ServerProcess } from './process.js';
import {
  ADMIN,
  gqlAt,
  wsClientAt,
  type GqlOptions,
  type GqlResponse,
  type GqlServer,
  type TestStorage,
  type WsClientOptions,
} from './server.js';

/** The command README gives operators: the built server, as a process manager runs it. */
export const BUILT_SERVER = [process.execPath, 'dist/src/main.js'];

export type RunMode = 'production' | 'development';

/**
 * The environment of a server run as operators run it: production (or development) mode, on a
 * database of its own. Limits stay at their defaults unless a test says otherwise.
 */
export function operatorEnv(storage: TestStorage, mode: RunMode, env: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: mode,
    HOST: '127.0.0.1',
    PORT: '0',
    JWT_SECRET: randomBytes(32).toString('hex'),
    METRICS_TOKEN: randomBytes(16).toString('hex'),
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    ...storage.env,
    ...env,
  };
}

/**
 * `node dist/src/main.js` in a child process (globalSetup builds dist once per run), with the
 * same request helpers as the in-process TestServer.
 */
export class BuiltServer implements GqlServer {
  private constructor(
    readonly process: ServerProcess,
    readonly env: Record<string, string>,
  ) {}

  static async start(env: Record<string, string>): Promise<BuiltServer> {
    return new BuiltServer(await startServerProcess(env, 60_000, BUILT_SERVER), env);
  }

  get url(): string {
    return this.process.url;
  }

  /** Everything the process printed so far (its JSON log lines). */
  output(): string {
    return this.process.output();
  }

  /** The parsed JSON log lines so far. */
  logLines(): Array<Record<string, unknown>> {
    return this.output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>, options: GqlOptions = {}): Promise<GqlResponse<T>> {
    return gqlAt<T>(this.url, query, variables, options);
  }

  wsClient(token?: string, options: WsClientOptions = {}): Client {
    return wsClientAt(this.url, token, options);
  }

  /** Sends a signal and resolves with the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.process.child.exitCode === null) this.process.child.kill(signal);
    return this.process.exit;
  }

  /** For afterAll/finally: never leaves a process behind. */
  kill(): void {
    if (this.process.child.exitCode === null) this.process.child.kill('SIGKILL');
  }
}
