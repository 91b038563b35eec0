import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import { inject } from 'vitest';
import WebSocket from 'ws';
import { startApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';
import { createPgDatabase, dropPgDatabase, pgUrlWithDatabase } from '../../src/migrations/adapterFixes.js';
import { pgAdminUrl } from '../../src/migrations/schemaEngine.js';

export const ADMIN = { email: 'admin@example.com', password: 'admin-password-123' };

export type TestDb = 'sqlite' | 'postgres';

export function testDb(): TestDb {
  return process.env.TEST_DB === 'postgres' ? 'postgres' : 'sqlite';
}

/** True when this project must be skipped: the postgres leg without a reachable server (never in CI). */
export function skipSuite(): boolean {
  return testDb() === 'postgres' && !inject('pgAvailable');
}

export interface GqlResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: { data?: T | null; errors?: Array<{ message: string; path?: unknown[]; extensions?: Record<string, unknown> }> };
}

export interface TestStorage {
  env: Record<string, string>;
  dispose(): Promise<void>;
}

/** A database of its own: a temporary SQLite directory, or a fresh PostgreSQL database. */
export async function createStorage(): Promise<TestStorage> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bastion-test-'));
  if (testDb() === 'sqlite') {
    return { env: { DATA_DIR: dataDir }, dispose: async () => rmSync(dataDir, { recursive: true, force: true }) };
  }
  const name = `bastion_test_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  await createPgDatabase(pgAdminUrl(), name);
  return {
    env: { DATA_DIR: dataDir, DATABASE_URL: pgUrlWithDatabase(pgAdminUrl(), name) },
    dispose: async () => {
      await dropPgDatabase(pgAdminUrl(), name);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The environment a test server starts with; tests override what they exercise. */
export function testEnv(storage: TestStorage, env: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'test',
    PORT: '0',
    LOG_LEVEL: 'silent',
    JWT_SECRET: randomBytes(32).toString('hex'),
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    RATE_LIMIT_PER_MINUTE: '0',
    AUTO_BLOCK_THRESHOLD: '0',
    ...storage.env,
    ...env,
  };
}

export interface GqlOptions {
  token?: string;
  headers?: Record<string, string>;
}

/**
 * The Accept header Apollo Client 4 sends. With it, request errors (parse, validation, variables)
 * answer 4xx; a client accepting only application/json gets 200 for them (GraphQL over HTTP).
 */
export const GRAPHQL_CLIENT_ACCEPT = 'application/graphql-response+json,application/json;q=0.9';

/** One GraphQL request over real HTTP (POST, JSON) to the server at `url`. */
export async function gqlAt<T = Record<string, unknown>>(
  url: string,
  query: string,
  variables?: Record<string, unknown>,
  options: GqlOptions = {},
): Promise<GqlResponse<T>> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: GRAPHQL_CLIENT_ACCEPT,
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as GqlResponse<T>['body'] };
}

export interface WsClientOptions {
  lazy?: boolean;
  onClose?: (event: unknown) => void;
}

/** A graphql-ws client over a real socket to the server at `url`. */
export function wsClientAt(url: string, token?: string, options: WsClientOptions = {}): Client {
  return createClient({
    url: `${url.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    lazy: options.lazy ?? true,
    // A non-lazy client reports a refused connection here; tests observe it through onClose instead.
    onNonLazyError: () => undefined,
    retryAttempts: 0,
    on: options.onClose ? { closed: options.onClose } : undefined,
  });
}

/** What the request helpers below need of a server: in-process (TestServer) or spawned (BuiltServer). */
export interface GqlServer {
  readonly url: string;
  gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>, options?: GqlOptions): Promise<GqlResponse<T>>;
  wsClient(token?: string, options?: WsClientOptions): Client;
}

export class TestServer implements GqlServer {
  private constructor(
    readonly app: App,
    readonly storage: TestStorage,
    readonly ownsStorage: boolean,
  ) {}

  /** Boots the real server on a free port (in this process), on a database of its own. */
  static async start(env: Record<string, string> = {}, storage?: TestStorage): Promise<TestServer> {
    const store = storage ?? (await createStorage());
    const app = await startApp(loadConfig(testEnv(store, env)));
    return new TestServer(app, store, !storage);
  }

  get url(): string {
    return this.app.url;
  }

  gql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    options: GqlOptions = {},
  ): Promise<GqlResponse<T>> {
    return gqlAt<T>(this.url, query, variables, options);
  }

  /** A graphql-ws client on the same port and path. */
  wsClient(token?: string, options: WsClientOptions = {}): Client {
    return wsClientAt(this.url, token, options);
  }

  async close(): Promise<void> {
    await this.app.close();
    if (this.ownsStorage) await this.storage.dispose();
  }
}

let counter = 0;
/** A unique username/e-mail pair for one test user. */
export function uniqueUser(prefix = 'user'): { email: string; username: string; password: string } {
  const tag = `${prefix}${Date.now().toString(36)}${(counter++).toString(36)}${randomBytes(2).toString('hex')}`;
  return { email: `${tag}@example.com`, username: tag.slice(0, 32), password: 'correct-horse-battery' };
}

export const REGISTER = /* GraphQL */ `
  mutation Register($input: RegisterInput!) {
    register(input: $input) { accessToken refreshToken expiresIn user { id email username role } }
  }
`;
export const LOGIN = /* GraphQL */ `
  mutation Login($input: LoginInput!) {
    login(input: $input) { accessToken refreshToken expiresIn user { id email username role } }
  }
`;

export interface Session {
  accessToken: string;
  refreshToken: string;
  user: { id: string; email: string; username: string; role: string };
}

export async function register(server: GqlServer, user = uniqueUser()): Promise<Session & { password: string }> {
  const res = await server.gql<{ register: Session }>(REGISTER, { input: user });
  if (!res.body.data?.register) throw new Error(`register failed: ${JSON.stringify(res.body)}`);
  return { ...res.body.data.register, password: user.password };
}

export async function login(server: GqlServer, loginName: string, password: string): Promise<Session> {
  const res = await server.gql<{ login: Session }>(LOGIN, { input: { login: loginName, password } });
  if (!res.body.data?.login) throw new Error(`login failed: ${JSON.stringify(res.body)}`);
  return res.body.data.login;
}

export function loginAdmin(server: GqlServer): Promise<Session> {
  return login(server, ADMIN.email, ADMIN.password);
}

/** A signed-in user with the given role (set by the bootstrap admin). */
export async function userWithRole(server: GqlServer, role: 'USER' | 'ANALYST' | 'ADMIN'): Promise<Session> {
  const created = await register(server);
  if (role === 'USER') return created;
  const admin = await loginAdmin(server);
  const res = await server.gql(`mutation($id: ID!, $role: Role!) { setUserRole(id: $id, role: $role) { id role } }`, { id: created.user.id, role }, { token: admin.accessToken });
  if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
  return login(server, created.user.email, created.password);
}

export function errorCodes(body: GqlResponse['body']): unknown[] {
  return (body.errors ?? []).map((e) => e.extensions?.['code']);
}
