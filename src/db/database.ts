// The runtime Prisma client for SQLite or PostgreSQL, chosen from DATABASE_URL's scheme.
import fs from 'node:fs';
import path from 'node:path';
import type { SqlDriverAdapter, SqlDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import type { PrismaClient, Prisma } from '../generated/prisma-sqlite/client.js';
import type { StatementSpan } from '../observability/tracing.js';
import { SqliteReader } from './sqliteReader.js';

// Both generated clients share the model API; code types against the SQLite one.
export type { PrismaClient, Prisma } from '../generated/prisma-sqlite/client.js';

export type Provider = 'sqlite' | 'postgresql';

export interface Database {
  prisma: PrismaClient;
  provider: Provider;
  /** Round trip of `SELECT 1`, in milliseconds. */
  ping(): Promise<number>;
  /** Called after every SQL statement Prisma runs; returns an unsubscribe function. */
  onQuery(listener: (durationMs: number, sql: string) => void): () => void;
  /**
   * A read-only statement whose cost a caller can drive up (a search): on SQLite it runs on a
   * second connection in a worker thread, so it never blocks the event loop; on PostgreSQL it is an
   * ordinary query. Placeholders as `sqlParam` writes them.
   */
  longRead<T>(sql: string, args: readonly unknown[]): Promise<T[]>;
  /**
   * The driver adapter Prisma is connected through, for bulk bytes only (see exports/chunkStore):
   * statements sent here skip Prisma's JSON protocol, which carries Bytes as base64, twice.
   */
  driver(): SqlDriverAdapter;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** postgres://, postgresql:// or file:; unset means SQLite at `${dataDir}/bastion.db`. */
  databaseUrl?: string;
  dataDir: string;
  /** PostgreSQL pool size (default 10). */
  poolSize?: number;
  /** PostgreSQL: connection timeout. SQLite: how long to wait for a lock (busy_timeout). Default 5000. */
  connectTimeoutMs?: number;
  /** PostgreSQL statement_timeout and the client-side wait for any answer; on SQLite, the longest `longRead` (default 15000). */
  statementTimeoutMs?: number;
  /** With tracing: a span for each SQLite `longRead`, which Prisma's own spans do not see (it runs in a worker thread). */
  traceStatement?: StatementSpan;
}

export function providerOf(databaseUrl?: string): Provider {
  if (databaseUrl === undefined || databaseUrl === '') return 'sqlite';
  if (/^postgres(ql)?:\/\//i.test(databaseUrl)) return 'postgresql';
  if (/^file:/i.test(databaseUrl)) return 'sqlite';
  throw new Error(`Unsupported DATABASE_URL scheme (expected postgres://, postgresql:// or file:): ${databaseUrl.split(':')[0]}:`);
}

/** The n-th positional parameter of a raw statement in the provider's dialect ($1 or ?). */
export function sqlParam(provider: Provider, n: number): string {
  return provider === 'postgresql' ? `$${n}` : '?';
}

/** The file of a `file:` URL (relative paths against cwd; query string ignored). */
export function sqliteFileFromUrl(url: string): string {
  const rest = url.replace(/^file:/i, '').replace(/\?.*$/, '');
  const file = rest.startsWith('//') ? new URL(url).pathname : rest;
  return path.resolve(decodeURIComponent(file));
}

/**
 * DateTime on SQLite is stored as ISO-8601 text with an explicit UTC offset, e.g.
 * `2025-01-31T12:34:56.789+00:00` (the adapter's 'iso8601' format). It sorts and compares as
 * text, and SQLite date functions read it directly: `strftime('%Y-%m-%dT%H:00:00Z', t)`.
 */
export const SQLITE_TIMESTAMP_FORMAT = 'iso8601' as const;

const DEFAULT_TIMEOUT_MS = 5000;
/** The longest statement (PostgreSQL) or search read (SQLite) when DB_STATEMENT_TIMEOUT_MS is unset. */
const DEFAULT_STATEMENT_TIMEOUT_MS = 15_000;
/** The client gives up this long after the server should have cancelled the statement itself. */
const QUERY_TIMEOUT_MARGIN_MS = 500;

/** The SQLite file for these settings (created folder included), or undefined for PostgreSQL. */
export function sqliteFileOf(databaseUrl: string | undefined, dataDir: string): string | undefined {
  if (providerOf(databaseUrl) !== 'sqlite') return undefined;
  const file = databaseUrl ? sqliteFileFromUrl(databaseUrl) : path.resolve(dataDir, 'bastion.db');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  return file;
}

/** Opens the runtime client. Migrations are applied beforehand by start-up (src/migrations). */
export async function openDatabase(opts: OpenDatabaseOptions): Promise<Database> {
  const provider = providerOf(opts.databaseUrl);
  const sqliteFile = sqliteFileOf(opts.databaseUrl, opts.dataDir);

  const listeners = new Set<(durationMs: number, sql: string) => void>();
  let connected: SqlDriverAdapter | undefined;
  const onConnect = (adapter: SqlDriverAdapter) => {
    connected = adapter;
  };
  // `log` query events fire once per SQL statement the client sends through the driver adapter
  // (transaction BEGIN/COMMIT included), with the measured duration.
  const log = [{ emit: 'event', level: 'query' }] as const;
  const client = sqliteFile
    ? await sqliteClient(sqliteFile, opts, log, onConnect)
    : await postgresClient(opts.databaseUrl as string, opts, log, onConnect);
  client.$on('query', (event: Prisma.QueryEvent) => {
    for (const listener of listeners) listener(event.duration, event.query);
  });
  await client.$connect();
  const prisma = client as unknown as PrismaClient;
  const reader = sqliteFile
    ? new SqliteReader({
        file: sqliteFile,
        busyTimeoutMs: opts.connectTimeoutMs ?? DEFAULT_TIMEOUT_MS,
        statementTimeoutMs: opts.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS,
      })
    : undefined;

  return {
    prisma,
    provider,
    async ping() {
      const started = performance.now();
      await prisma.$queryRawUnsafe('SELECT 1');
      return performance.now() - started;
    },
    onQuery(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    longRead<T>(sql: string, args: readonly unknown[]) {
      if (!reader) return prisma.$queryRawUnsafe<T[]>(sql, ...args);
      return opts.traceStatement ? opts.traceStatement('sqlite', sql, () => reader.query<T>(sql, args)) : reader.query<T>(sql, args);
    },
    driver() {
      if (!connected) throw new Error('the database is not connected');
      return connected;
    },
    async close() {
      listeners.clear();
      await reader?.close();
      await prisma.$disconnect();
    },
  };
}

type QueryLog = readonly [{ readonly emit: 'event'; readonly level: 'query' }];
type LoggingClient = PrismaClient<'query'>;

type OnConnect = (adapter: SqlDriverAdapter) => void;

async function sqliteClient(file: string, opts: OpenDatabaseOptions, log: QueryLog, onConnect: OnConnect): Promise<LoggingClient> {
  const [{ PrismaBetterSqlite3 }, { PrismaClient: SqlitePrismaClient }] = await Promise.all([
    import('@prisma/adapter-better-sqlite3'),
    import('../generated/prisma-sqlite/client.js'),
  ]);
  const busyTimeout = opts.connectTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  const inner = new PrismaBetterSqlite3({ url: file, timeout: busyTimeout }, { timestampFormat: SQLITE_TIMESTAMP_FORMAT });
  // The adapter sets no pragmas: set them on its connection before Prisma uses it.
  // WAL + synchronous=NORMAL: ~5x faster writes, still durable across process crashes.
  const adapter: SqlDriverAdapterFactory = {
    provider: inner.provider,
    adapterName: inner.adapterName,
    async connect(): Promise<SqlDriverAdapter> {
      const connection = await inner.connect();
      await connection.executeScript(
        `PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = ${Math.trunc(busyTimeout)};`,
      );
      onConnect(connection);
      return connection;
    },
  };
  return new SqlitePrismaClient({ adapter, log: [...log] });
}

async function postgresClient(url: string, opts: OpenDatabaseOptions, log: QueryLog, onConnect: OnConnect): Promise<LoggingClient> {
  const [{ PrismaPg }, { PrismaClient: PgPrismaClient }] = await Promise.all([
    import('@prisma/adapter-pg'),
    import('../generated/prisma-postgres/client.js'),
  ]);
  // Every wait is bounded by pg's own settings: connectionTimeoutMillis covers connecting and
  // waiting for a pooled connection; statement_timeout makes the server cancel a slow statement;
  // query_timeout ends the wait client-side when no answer comes at all (a network partition
  // holds the connection open, so the server's cancel never arrives). pg-pool discards a
  // connection whose query failed, so a stalled one is not reused.
  const statementTimeoutMs = opts.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
  const inner = new PrismaPg({
    connectionString: url,
    max: opts.poolSize ?? 10,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? DEFAULT_TIMEOUT_MS,
    statement_timeout: statementTimeoutMs,
    query_timeout: statementTimeoutMs + QUERY_TIMEOUT_MARGIN_MS,
    keepAlive: true,
  });
  const adapter: SqlDriverAdapterFactory = {
    provider: inner.provider,
    adapterName: inner.adapterName,
    async connect(): Promise<SqlDriverAdapter> {
      const connection = await inner.connect();
      onConnect(connection);
      return connection;
    },
  };
  // Same model API as the SQLite client; only the provider-specific internals differ.
  return new PgPrismaClient({ adapter, log: [...log] }) as unknown as LoggingClient;
}
