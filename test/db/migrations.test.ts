import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import Sqlite from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderSchema } from '../../scripts/db-schemas.js';
import { readModels } from '../../src/migrations/prismaSchema.js';
import { migrationsDir, schemaPath, type SchemaProvider } from '../../src/db/projectPaths.js';
import { applyMigrations, migrationTarget, diffMigrationsAgainstModels, pgAdminUrl } from '../../src/migrations/schemaEngine.js';
import { createPgDatabase, dropPgDatabase, pgUrlWithDatabase } from '../../src/migrations/adapterFixes.js';
import { openDatabase, providerOf, type Database } from '../../src/db/database.js';

const PROVIDERS: SchemaProvider[] = ['sqlite', 'postgresql'];

async function postgresReachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: pgAdminUrl(), connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

// In CI the PostgreSQL part must run: an unreachable server fails the suite instead of skipping.
const inCi = process.env.CI === 'true';
const pgUp = await postgresReachable();
const skipPg = !pgUp && !inCi;

/** A user + report round trip, then the query listener sees the statements. */
async function roundTrip(db: Database): Promise<void> {
  const seen: string[] = [];
  const stop = db.onQuery((durationMs, sql) => {
    expect(durationMs).toBeGreaterThanOrEqual(0);
    seen.push(sql);
  });
  const suffix = randomUUID().slice(0, 8);
  const user = await db.prisma.user.create({
    data: {
      email: `a-${suffix}@example.com`,
      username: `A ${suffix}`,
      usernameKey: `a ${suffix}`,
      passwordHash: 'x',
      reports: { create: { title: 'T', body: "semi;colon 'quoted'" } },
    },
  });
  expect(user.createdAt).toBeInstanceOf(Date);
  const found = await db.prisma.user.findUnique({ where: { id: user.id }, include: { reports: true } });
  expect(found?.email).toBe(`a-${suffix}@example.com`);
  expect(found?.reports[0]?.body).toBe("semi;colon 'quoted'");
  expect(found?.createdAt.getTime()).toBe(user.createdAt.getTime());

  const before = seen.length;
  await db.prisma.user.findUnique({ where: { id: user.id } });
  expect(seen.length - before).toBe(1);
  expect(seen.at(-1)).toMatch(/SELECT/i);
  stop();
  await db.prisma.user.count();
  expect(seen.length).toBe(before + 1);

  expect(await db.ping()).toBeGreaterThanOrEqual(0);
}

describe('environment', () => {
  it.runIf(inCi)('PostgreSQL is reachable (required with CI=true)', () => {
    expect(pgUp, `no PostgreSQL at ${pgAdminUrl()}`).toBe(true);
  });
});

describe('provider schemas', () => {
  it.each(PROVIDERS)('committed %s schema is in sync with models.prisma', (provider) => {
    expect(fs.readFileSync(schemaPath(provider), 'utf8')).toBe(renderSchema(provider, readModels()));
  });

  it('providerOf picks the provider from the URL scheme', () => {
    expect(providerOf(undefined)).toBe('sqlite');
    expect(providerOf('file:./x.db')).toBe('sqlite');
    expect(providerOf('postgres://h/db')).toBe('postgresql');
    expect(providerOf('postgresql://h/db')).toBe('postgresql');
    expect(() => providerOf('mysql://h/db')).toThrow(/Unsupported/);
  });
});

describe('migrations cover the models', () => {
  it('sqlite: no drift', async () => {
    expect(await diffMigrationsAgainstModels('sqlite')).toEqual({ drift: false });
  });
  it.skipIf(skipPg)('postgresql: no drift', async () => {
    expect(await diffMigrationsAgainstModels('postgresql')).toEqual({ drift: false });
  });
});

describe('sqlite', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bastion-db-test-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('applies migrations to a fresh file once', async () => {
    const file = path.join(dir, 'fresh.db');
    const first = await applyMigrations({ provider: 'sqlite', sqlitePath: file });
    expect(first.applied.length).toBeGreaterThan(0);
    expect(first.applied[0]).toMatch(/_init$/);
    expect(await applyMigrations({ provider: 'sqlite', sqlitePath: file })).toEqual({ applied: [] });
  });

  it('opens with migrate, round-trips, stores DateTime as ISO-8601 text', async () => {
    await applyMigrations(migrationTarget(undefined, path.join(dir, 'data')));
    const db = await openDatabase({ dataDir: path.join(dir, 'data') });
    try {
      expect(db.provider).toBe('sqlite');
      await roundTrip(db);
      const pragmas = await db.prisma.$queryRawUnsafe<{ journal_mode: string }[]>('PRAGMA journal_mode');
      expect(pragmas[0]?.journal_mode).toBe('wal');
    } finally {
      await db.close();
    }
    const raw = new Sqlite(path.join(dir, 'data', 'bastion.db'), { readonly: true });
    try {
      const row = raw
        .prepare(`SELECT typeof(createdAt) AS type, createdAt, strftime('%Y-%m-%d', createdAt) AS day FROM "User" LIMIT 1`)
        .get() as { type: string; createdAt: string; day: string };
      expect(row.type).toBe('text');
      expect(row.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$/);
      expect(row.day).toBe(row.createdAt.slice(0, 10));
    } finally {
      raw.close();
    }
  });
});

describe.skipIf(skipPg)('postgresql', () => {
  const admin = pgAdminUrl();
  const database = `bastion_test_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  const url = pgUrlWithDatabase(admin, database);

  beforeAll(async () => {
    await createPgDatabase(admin, database);
  });
  afterAll(async () => {
    await dropPgDatabase(admin, database);
  });

  it('applies migrations to a fresh database once', async () => {
    const first = await applyMigrations({ provider: 'postgresql', url });
    expect(first.applied.length).toBeGreaterThan(0);
    expect(first.applied[0]).toMatch(/_init$/);
    expect(await applyMigrations({ provider: 'postgresql', url })).toEqual({ applied: [] });
  });

  it('opens, round-trips and reports queries', async () => {
    await applyMigrations(migrationTarget(url, os.tmpdir()));
    const db = await openDatabase({ databaseUrl: url, dataDir: os.tmpdir(), poolSize: 2, statementTimeoutMs: 5000 });
    try {
      expect(db.provider).toBe('postgresql');
      await roundTrip(db);
    } finally {
      await db.close();
    }
  });
});

/**
 * Upgrading a database that already holds tagged reports: the report_tag_keys migration fills
 * "tagKeysJson" from the existing tag rows, and its triggers then keep the rows in step.
 */
describe('report_tag_keys migration on existing data', () => {
  const TAG_KEYS = /_report_tag_keys$/;
  const migrationsUpTo = (provider: SchemaProvider) => {
    const dir = migrationsDir(provider);
    const names = fs.readdirSync(dir).filter((name) => fs.statSync(path.join(dir, name)).isDirectory()).sort();
    const at = names.findIndex((name) => TAG_KEYS.test(name));
    const sql = (name: string) => fs.readFileSync(path.join(dir, name, 'migration.sql'), 'utf8');
    return { before: names.slice(0, at).map(sql), tagKeys: sql(names[at]!) };
  };
  const USER = `INSERT INTO "User" ("id", "email", "username", "usernameKey", "passwordHash", "updatedAt") VALUES ('u1', 'u@example.com', 'U', 'u', 'x', CURRENT_TIMESTAMP)`;
  const REPORTS = `INSERT INTO "Report" ("id", "authorId", "title", "tagsJson", "updatedAt") VALUES ('r1', 'u1', 'T', '["Ärger","Ops"]', CURRENT_TIMESTAMP), ('r2', 'u1', 'U', '[]', CURRENT_TIMESTAMP)`;
  const TAGS = `INSERT INTO "ReportTag" ("reportId", "tag") VALUES ('r1', 'ärger'), ('r1', 'ops')`;
  const RETAG = `UPDATE "Report" SET "tagKeysJson" = '["neu"]' WHERE "id" = 'r1'`;
  const KEYS = `SELECT "id", "tagKeysJson" FROM "Report" ORDER BY "id"`;
  const ROWS = `SELECT "reportId", "tag" FROM "ReportTag" ORDER BY "reportId", "tag"`;

  it('sqlite', () => {
    const { before, tagKeys } = migrationsUpTo('sqlite');
    const db = new Sqlite(':memory:');
    try {
      for (const sql of before) db.exec(sql);
      db.exec(`${USER}; ${REPORTS}; ${TAGS};`);
      db.exec(tagKeys);
      const keys = db.prepare(KEYS).all() as Array<{ tagKeysJson: string }>;
      expect(keys.map((row) => JSON.parse(row.tagKeysJson).sort())).toEqual([['ops', 'ärger'], []]);
      expect(db.prepare(ROWS).all()).toEqual([{ reportId: 'r1', tag: 'ops' }, { reportId: 'r1', tag: 'ärger' }]);
      db.exec(RETAG);
      expect(db.prepare(ROWS).all()).toEqual([{ reportId: 'r1', tag: 'neu' }]);
    } finally {
      db.close();
    }
  });

  it.skipIf(skipPg)('postgresql', async () => {
    const { before, tagKeys } = migrationsUpTo('postgresql');
    const admin = pgAdminUrl();
    const database = `bastion_test_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    await createPgDatabase(admin, database);
    const client = new pg.Client({ connectionString: pgUrlWithDatabase(admin, database) });
    await client.connect();
    try {
      for (const sql of before) await client.query(sql);
      await client.query(`${USER}; ${REPORTS}; ${TAGS};`);
      await client.query(tagKeys);
      const keys = (await client.query<{ tagKeysJson: string }>(KEYS)).rows;
      expect(keys.map((row) => JSON.parse(row.tagKeysJson).sort())).toEqual([['ops', 'ärger'], []]);
      expect((await client.query(ROWS)).rows).toEqual([{ reportId: 'r1', tag: 'ops' }, { reportId: 'r1', tag: 'ärger' }]);
      await client.query(RETAG);
      expect((await client.query(ROWS)).rows).toEqual([{ reportId: 'r1', tag: 'neu' }]);
    } finally {
      await client.end();
      await dropPgDatabase(admin, database);
    }
  });
});
