// Driver-adapter factories for the WASM schema engine, with the gaps of the 7.10 adapters worked
// around: each gap is described where it is handled below. Only migrations use these; the runtime
// client uses the adapters as shipped.
import { randomUUID } from 'node:crypto';
import {
  ColumnTypeEnum,
  type ConnectionInfo,
  DriverAdapterError,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
  type SqlQuery,
  type SqlResultSet,
  type Transaction,
  type IsolationLevel,
} from '@prisma/driver-adapter-utils';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';

/** Delegates every SqlDriverAdapter method to `inner`; subclasses override what they fix. */
class DelegatingAdapter implements SqlDriverAdapter {
  readonly provider: SqlDriverAdapter['provider'];
  readonly adapterName: string;

  constructor(protected readonly inner: SqlDriverAdapter) {
    this.provider = inner.provider;
    this.adapterName = inner.adapterName;
  }
  queryRaw(query: SqlQuery): Promise<SqlResultSet> {
    return this.inner.queryRaw(query);
  }
  executeRaw(query: SqlQuery): Promise<number> {
    return this.inner.executeRaw(query);
  }
  executeScript(script: string): Promise<void> {
    return this.inner.executeScript(script);
  }
  startTransaction(isolationLevel?: IsolationLevel): Promise<Transaction> {
    return this.inner.startTransaction(isolationLevel);
  }
  getConnectionInfo(): ConnectionInfo {
    return this.inner.getConnectionInfo?.() ?? { supportsRelationJoins: false };
  }
  private disposing: Promise<void> | undefined;
  /** Idempotent: the engine disposes some adapters itself and withSchemaEngine disposes the rest. */
  dispose(): Promise<void> {
    this.disposing ??= this.close();
    return this.disposing;
  }
  protected close(): Promise<void> {
    return this.inner.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// SQLite

/** The engine's request for the file to itself (see gap 6). */
const EXCLUSIVE_LOCKING = /^PRAGMA\s+(main\.)?locking_mode\s*=\s*EXCLUSIVE\s*;?$/i;

/**
 * Gap 1: the engine replays migrations into the shadow DB with `executeRaw` on a whole script;
 * better-sqlite3's `prepare` accepts one statement only. Such a call goes to `executeScript`.
 * Gap 6: the engine puts the file in EXCLUSIVE locking mode, so migrating (even finding nothing to
 * apply) fails with SQLITE_BUSY while any other process has the database open: a running server,
 * `npm run db:migrate` beside it, a sqlite3 shell. Migrations run in normal locking mode instead:
 * each statement still takes SQLite's write lock, waiting for other writers (busy timeout).
 */
class SqliteMigrationAdapter extends DelegatingAdapter {
  override async executeRaw(query: SqlQuery): Promise<number> {
    if (query.args.length === 0 && EXCLUSIVE_LOCKING.test(query.sql.trim())) return 0;
    try {
      return await this.inner.executeRaw(query);
    } catch (error) {
      if (query.args.length === 0 && error instanceof RangeError && /more than one statement/.test(error.message)) {
        await this.inner.executeScript(query.sql);
        return 0;
      }
      throw error;
    }
  }
}

/** Migration factory for a SQLite file (shadow DB: in memory, the adapter's default). */
export function sqliteMigrationFactory(file: string): SqlMigrationAwareDriverAdapterFactory {
  const inner = new PrismaBetterSqlite3({ url: file });
  return {
    provider: 'sqlite',
    adapterName: inner.adapterName,
    connect: async () => new SqliteMigrationAdapter(await inner.connect()),
    connectToShadowDb: async () => new SqliteMigrationAdapter(await inner.connectToShadowDb()),
  };
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

const PG_CHAR_OID = 18; // the one-byte "char" type of pg_catalog columns (relkind, contype, ...)
const PG_BPCHAR_OID = 1042;
const charColumns = Symbol('charColumns');
type TaggedRows = unknown[] & { [charColumns]?: number[] };

/**
 * Gap 2: adapter-pg rejects `"char"` result columns (OID 18), which the engine's catalogue
 * queries return. The pool reports them as bpchar (so the adapter accepts them) and tags the rows
 * array with their positions; the adapter wrapper then reports those columns as Character (Text
 * makes the engine panic). The adapter returns pg's `rows` array as is, so the tag survives.
 */
function tagCharColumns(pool: pg.Pool): void {
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  const patched = (...args: unknown[]): unknown => {
    const result = query(...args);
    if (!(result instanceof Promise)) return result;
    return result.then((res: pg.QueryResult) => {
      const positions: number[] = [];
      res.fields?.forEach((field, i) => {
        if (field.dataTypeID === PG_CHAR_OID) {
          field.dataTypeID = PG_BPCHAR_OID;
          positions.push(i);
        }
      });
      if (positions.length > 0) (res.rows as TaggedRows)[charColumns] = positions;
      return res;
    });
  };
  (pool as unknown as { query: typeof patched }).query = patched;
}

class PgMigrationAdapter extends DelegatingAdapter {
  constructor(
    inner: SqlDriverAdapter,
    private readonly pool: pg.Pool,
    private readonly onDispose: () => Promise<void>,
  ) {
    super(inner);
  }

  override async queryRaw(query: SqlQuery): Promise<SqlResultSet> {
    const result = await this.inner.queryRaw(query);
    const positions = (result.rows as TaggedRows)[charColumns];
    if (positions) for (const i of positions) result.columnTypes[i] = ColumnTypeEnum.Character;
    return result;
  }

  /** Gap 4: adapter-pg splits scripts on `;` (breaks `'a;b'` and `$$` bodies): send it whole. */
  override async executeScript(script: string): Promise<void> {
    try {
      await this.pool.query(script);
    } catch (error) {
      // Same error shape adapter-pg gives, so the engine reports the failing migration properly.
      if (error instanceof pg.DatabaseError) {
        throw new DriverAdapterError({
          kind: 'postgres',
          code: error.code ?? 'XX000',
          severity: error.severity ?? 'ERROR',
          message: error.message,
          detail: error.detail,
          column: error.column,
          hint: error.hint,
        });
      }
      throw error;
    }
  }

  protected override async close(): Promise<void> {
    await this.onDispose();
  }
}

function pgAdapterFor(config: pg.PoolConfig, onEnd: () => Promise<void>): Promise<PgMigrationAdapter> {
  const pool = new pg.Pool({ ...config, max: 2 });
  tagCharColumns(pool);
  return new PrismaPg(pool).connect().then(
    (inner) =>
      new PgMigrationAdapter(inner, pool, async () => {
        await pool.end();
        await onEnd();
      }),
  );
}

/** Runs one statement on `url` outside any pool (CREATE/DROP DATABASE). */
export async function pgAdminQuery(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** `url` with its database name replaced. */
export function pgUrlWithDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

export async function createPgDatabase(adminUrl: string, database: string): Promise<void> {
  await pgAdminQuery(adminUrl, `CREATE DATABASE "${database}"`);
}

export async function dropPgDatabase(adminUrl: string, database: string): Promise<void> {
  // FORCE (PG 13+): a leaked connection must not keep a temporary database alive.
  await pgAdminQuery(adminUrl, `DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
}

/**
 * Migration factory for PostgreSQL. Gap 3: adapter-pg's own shadow DB connects to the main
 * database and drops it before closing its pool; this one creates a real temporary database on
 * the same server and drops it after its pool has closed.
 */
export function pgMigrationFactory(url: string): SqlMigrationAwareDriverAdapterFactory {
  return {
    provider: 'postgres',
    adapterName: '@prisma/adapter-pg',
    connect: () => pgAdapterFor({ connectionString: url }, async () => {}),
    connectToShadowDb: async () => {
      const database = `prisma_shadow_${randomUUID().replace(/-/g, '')}`;
      await createPgDatabase(url, database);
      return pgAdapterFor({ connectionString: pgUrlWithDatabase(url, database) }, () => dropPgDatabase(url, database));
    },
  };
}
