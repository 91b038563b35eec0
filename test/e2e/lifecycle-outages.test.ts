import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Sqlite from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/db/database.js';
import { BuiltServer, operatorEnv } from '../helpers/builtServer.js';
import { createReportsUntilStopped, postOnce } from '../helpers/load.js';
import { createStorage, loginAdmin, register, skipSuite, testDb, type TestStorage } from '../helpers/server.js';
import { freePort, startRedisServer } from '../helpers/redisServer.js';
import { TcpProxy } from '../helpers/tcpProxy.js';
import { eventually } from '../helpers/wait.js';

/*
 * Real faults against the built server in production mode: a PostgreSQL connection cut and
 * restored, a stalled network path, a killed Redis between two instances, an instance stopped
 * mid-export, and on SQLite a database held locked by another process.
 */

const LOAD_LIMITS = { RATE_LIMIT_PER_MINUTE: '0', RATE_LIMITS: 'Mutation.createReport=1000000/60' };
/** Short bounds so that outages show within a test's time. */
const FAST_TIMEOUTS = { DB_CONNECT_TIMEOUT_MS: '1000', DB_STATEMENT_TIMEOUT_MS: '2000' };
const CREATE = 'mutation Create($input: CreateReportInput!) { createReport(input: $input) { id } }';
const onPostgres = testDb() === 'postgres' && !skipSuite();
const onSqlite = testDb() === 'sqlite';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function openStorage(env: Record<string, string>): Promise<Database> {
  return openDatabase({ databaseUrl: env['DATABASE_URL'], dataDir: env['DATA_DIR']! });
}

/** Resolves once every acknowledged report has its SUCCESS audit row (the writer may still be catching up). */
async function expectAudited(db: Database, acknowledged: Map<string, string>): Promise<void> {
  const ids = [...acknowledged.values()];
  await eventually(
    () => db.prisma.auditEvent.count({ where: { action: 'createReport', outcome: 'SUCCESS', targetId: { in: ids } } }),
    (count) => count === ids.length,
    20_000,
  );
}

/** Server log lines at error level or above. */
const errorLines = (server: BuiltServer) => server.logLines().filter((l) => l['level'] === 'error' || l['level'] === 'fatal');

describe.runIf(onPostgres)('outages on PostgreSQL (production mode, through a TCP proxy)', () => {
  let storage: TestStorage;
  let proxy: TcpProxy;
  let env: Record<string, string>;
  beforeAll(async () => {
    storage = await createStorage();
    const target = new URL(storage.env['DATABASE_URL']!);
    proxy = await TcpProxy.start(target.hostname, Number(target.port || 5432));
    env = { ...storage.env, DATABASE_URL: proxy.rewrite(storage.env['DATABASE_URL']!) };
  });
  afterAll(async () => {
    await proxy?.close();
    await storage?.dispose();
  });

  it('a cut and restored database: SERVICE_UNAVAILABLE during the cut, recovery without restart, no audit entry lost', async () => {
    proxy.setMode('forward');
    const server = await BuiltServer.start(operatorEnv({ ...storage, env }, 'production', { ...LOAD_LIMITS, ...FAST_TIMEOUTS }));
    const db = await openStorage(storage.env);
    try {
      const tokens = await Promise.all([1, 2, 3, 4].map(async () => (await register(server)).accessToken));
      const load = createReportsUntilStopped(server.url, tokens, `cut-${randomBytes(3).toString('hex')}`);
      await pause(1000);
      proxy.setMode('cut');
      await pause(3000);
      const ready = await fetch(`${server.url}/ready`);
      expect(ready.status).toBe(503);
      proxy.setMode('forward');
      await pause(3000);
      load.stop();
      const outcome = await load.done;

      // During the cut: the outage code, never a server fault; no socket was reset.
      const codes = [...outcome.refused.keys()];
      expect(codes.some((c) => c.endsWith('SERVICE_UNAVAILABLE'))).toBe(true);
      expect(codes.filter((c) => !c.endsWith('SERVICE_UNAVAILABLE'))).toEqual([]);
      expect(outcome.socketErrors.size).toBe(0);
      // After it, without a restart: writes work again, and every acknowledged one is audited.
      const after = await postOnce(server.url, CREATE, { input: { title: 'after the cut' } }, tokens[0]);
      expect(after.body.data?.['createReport']).toBeTruthy();
      await expectAudited(db, outcome.acknowledged);
      expect(errorLines(server).filter((l) => l['msg'] === 'internal error')).toEqual([]);

      const metrics = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${server.env['METRICS_TOKEN']}` } });
      const text = await metrics.text();
      expect(Number(/^bastion_database_unavailable_total (\d+)/m.exec(text)?.[1])).toBeGreaterThan(0);
      // Exported at 0 from start; the outage must not have moved it.
      expect(Number(/^bastion_graphql_errors_total\{code="INTERNAL_SERVER_ERROR"\} (\d+)/m.exec(text)?.[1])).toBe(0);
    } finally {
      server.kill();
      await db.close();
    }
  });

  it('a stalled network path: every request ends within the configured timeouts, with SERVICE_UNAVAILABLE', async () => {
    proxy.setMode('forward');
    const server = await BuiltServer.start(operatorEnv({ ...storage, env }, 'production', FAST_TIMEOUTS));
    try {
      const user = await register(server);
      proxy.setMode('stall');
      const bound = 1000 + 2000 + 500 + 1500; // connect + statement + the client's margin + slack for a busy machine
      const answers = await Promise.all(
        [1, 2, 3].map(async (n) => {
          const started = Date.now();
          const res = await postOnce(server.url, CREATE, { input: { title: `stalled ${n}` } }, user.accessToken);
          return { ms: Date.now() - started, status: res.status, code: res.body.errors?.[0]?.extensions?.['code'] };
        }),
      );
      for (const answer of answers) {
        expect(answer).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE' });
        expect(answer.ms).toBeLessThan(bound);
      }
      proxy.setMode('forward');
      await eventually(
        () => postOnce(server.url, CREATE, { input: { title: 'after the stall' } }, user.accessToken),
        (res) => Boolean(res.body.data?.['createReport']),
        15_000,
      );
    } finally {
      proxy.setMode('forward');
      server.kill();
    }
  });

  it('SIGTERM during a database cut: the audit backlog is spilled to disk and replayed at the next start', async () => {
    proxy.setMode('forward');
    const first = await BuiltServer.start(operatorEnv({ ...storage, env }, 'production', FAST_TIMEOUTS));
    const db = await openStorage(storage.env);
    try {
      const tag = `spill-${randomBytes(3).toString('hex')}`;
      proxy.setMode('cut');
      // Refused for want of a token: each is audited (DENIED) without touching the database.
      for (let i = 0; i < 5; i++) await postOnce(first.url, CREATE, { input: { title: tag } });
      expect(await first.stop('SIGTERM')).toBe(0);
      const spilled = first.logLines().find((l) => String(l['msg']).startsWith('audit rows written to the spill file'));
      expect(spilled).toBeDefined();
      expect(fs.readdirSync(path.join(storage.env['DATA_DIR']!, 'audit-spill')).filter((f) => f.endsWith('.ndjson'))).toHaveLength(1);

      proxy.setMode('forward');
      const second = await BuiltServer.start(first.env);
      try {
        const denied = await db.prisma.auditEvent.findMany({ where: { action: 'createReport', outcome: 'DENIED', actorId: null } });
        expect(denied.reduce((sum, row) => sum + row.count, 0)).toBeGreaterThanOrEqual(5);
        expect(fs.readdirSync(path.join(storage.env['DATA_DIR']!, 'audit-spill')).filter((f) => f.endsWith('.ndjson'))).toEqual([]);
      } finally {
        second.kill();
      }
    } finally {
      proxy.setMode('forward');
      first.kill();
      await db.close();
    }
  });
});

describe.runIf(onPostgres)('two instances on PostgreSQL + Redis (production mode)', () => {
  let storage: TestStorage;
  beforeAll(async () => {
    storage = await createStorage();
  });
  afterAll(() => storage?.dispose());

  it('with Redis killed, a logout on one instance is refused on the other within about a second', async () => {
    const port = await freePort();
    const redis = await startRedisServer(port);
    const shared = { JWT_SECRET: randomBytes(32).toString('hex'), REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_PREFIX: `bastion-test-${randomBytes(4).toString('hex')}:` };
    const a = await BuiltServer.start(operatorEnv(storage, 'production', shared));
    const b = await BuiltServer.start(operatorEnv(storage, 'production', shared));
    try {
      const user = await register(a);
      const me = (server: BuiltServer) => server.gql('{ me { id } }', undefined, { token: user.accessToken });
      expect((await me(b)).status).toBe(200); // B caches the session as live

      redis.kill('SIGKILL');
      await eventually(async () => ((await (await fetch(`${b.url}/ready`)).json()) as { redis?: string }).redis, (state) => state === 'down');
      expect((await me(b)).status).toBe(200);

      expect((await a.gql('mutation { logout }', undefined, { token: user.accessToken })).body.errors).toBeUndefined();
      const loggedOut = Date.now();
      await eventually(async () => (await me(b)).status, (status) => status === 401, 3000);
      // About a second (the cache's lifetime while Redis is down), plus one poll.
      expect(Date.now() - loggedOut).toBeLessThan(2000);
    } finally {
      a.kill();
      b.kill();
      redis.kill('SIGKILL');
    }
  });

  it('SIGTERM on the instance holding an export releases its lease: the other instance finishes the export promptly', { timeout: 120_000 }, async () => {
    const shared = { JWT_SECRET: randomBytes(32).toString('hex'), REDIS_URL: 'redis://127.0.0.1:6379', REDIS_PREFIX: `bastion-test-${randomBytes(4).toString('hex')}:` };
    const a = await BuiltServer.start(operatorEnv(storage, 'production', shared));
    const b = await BuiltServer.start(operatorEnv(storage, 'production', shared));
    const db = await openStorage(storage.env);
    try {
      const user = await register(a);
      // Enough rows that the export is still running when A is told to stop.
      const ROWS = 60_000;
      await db.prisma.$executeRawUnsafe(
        `INSERT INTO "Report" ("id", "authorId", "title", "updatedAt") SELECT 'bulk-' || n, $1, 'bulk report ' || n, now() FROM generate_series(1, ${ROWS}) AS n`,
        user.user.id,
      );
      const created = await a.gql<{ createExport: { id: string } }>('mutation { createExport(input: {kind: REPORTS, format: CSV}) { id } }', undefined, {
        token: user.accessToken,
      });
      const id = created.body.data!.createExport.id;
      const leaseOf = () => db.prisma.lease.findUnique({ where: { name: `export:${id}` } });
      const heldByA = await eventually(leaseOf, (lease) => lease !== null, 10_000);

      expect(await a.stop('SIGTERM')).toBe(0);
      const stopped = Date.now();
      // Promptly: B takes the lease over within seconds, not after the 60 s lease or the 30 s sweep.
      await eventually(leaseOf, (lease) => lease !== null && lease.holder !== heldByA!.holder, 10_000);
      expect(Date.now() - stopped).toBeLessThan(10_000);
      const done = await eventually(
        async () => (await b.gql<{ export: { status: string; rowCount: number | null } }>('query($id: ID!) { export(id: $id) { status rowCount } }', { id }, { token: user.accessToken })).body.data?.export,
        (e) => e?.status === 'READY',
        90_000,
      );
      expect(done?.rowCount).toBe(ROWS);
      expect(a.output()).toContain('export interrupted');
    } finally {
      a.kill();
      b.kill();
      await db.close();
    }
  });
});

describe.runIf(onSqlite)('outages on SQLite (production mode): the database held locked by another process', () => {
  let storage: TestStorage;
  beforeAll(async () => {
    storage = await createStorage();
  });
  afterAll(() => storage?.dispose());

  it('writes answer SERVICE_UNAVAILABLE while locked; acknowledged mutations keep their audit entries; a drain during the lock spills and replays', { timeout: 60_000 }, async () => {
    const env = operatorEnv(storage, 'production', { ...LOAD_LIMITS, DB_CONNECT_TIMEOUT_MS: '300' });
    const server = await BuiltServer.start(env);
    const file = path.join(storage.env['DATA_DIR']!, 'bastion.db');
    const locker = new Sqlite(file);
    try {
      const user = await register(server);
      const tag = `locked-${randomBytes(3).toString('hex')}`;
      const before = await postOnce(server.url, CREATE, { input: { title: `${tag}-before` } }, user.accessToken);
      const beforeId = (before.body.data?.['createReport'] as { id: string }).id;

      locker.exec('BEGIN EXCLUSIVE');
      const during = await postOnce(server.url, CREATE, { input: { title: `${tag}-during` } }, user.accessToken);
      expect(during.status).toBe(503);
      expect(during.body.errors?.[0]?.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', retryAfter: expect.any(Number) });
      // Refused for want of a token: audited (DENIED) in memory while the database is locked.
      for (let i = 0; i < 3; i++) await postOnce(server.url, CREATE, { input: { title: `${tag}-anonymous` } });
      await pause(1200); // at least one audit write fails on the lock meanwhile
      expect(await server.stop('SIGTERM')).toBe(0);
      expect(server.output()).toContain('audit rows written to the spill file');
      locker.exec('COMMIT');
      locker.close();

      const restarted = await BuiltServer.start(env);
      const db = await openStorage(storage.env);
      try {
        expect(await db.prisma.auditEvent.count({ where: { action: 'createReport', outcome: 'SUCCESS', targetId: beforeId } })).toBe(1);
        const denied = await db.prisma.auditEvent.findMany({ where: { action: 'createReport', outcome: 'DENIED', actorId: null } });
        expect(denied.reduce((sum, row) => sum + row.count, 0)).toBeGreaterThanOrEqual(3);
        expect(errorLines(server).filter((l) => l['msg'] === 'internal error')).toEqual([]);
        const admin = await loginAdmin(restarted);
        expect(admin.accessToken).toBeTruthy();
      } finally {
        restarted.kill();
        await db.close();
      }
    } finally {
      server.kill();
      if (locker.open) locker.close();
    }
  });
});
