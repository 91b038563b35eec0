import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createStorage,
  errorCodes,
  LOGIN,
  loginAdmin,
  register,
  skipSuite,
  testDb,
  TestServer,
  type TestStorage,
} from '../helpers/server.js';
import { freePort, startRedisServer } from '../helpers/redisServer.js';
import { eventually } from '../helpers/wait.js';

/*
 * Several instances on PostgreSQL + Redis behave as one server. Runs on the PostgreSQL leg, against
 * the local Redis with a key prefix of its own, and against a redis-server it starts and kills.
 */
const onPostgres = testDb() === 'postgres' && !skipSuite();
const SHARED_SECRET = randomBytes(32).toString('hex');

/** Waits until `check` answers true. */
const until = (check: () => Promise<boolean>, ms?: number) => eventually(check, Boolean, ms);

const readiness = async (server: TestServer) => {
  const res = await fetch(`${server.url}/ready`);
  return { status: res.status, body: (await res.json()) as Record<string, string> };
};

describe.runIf(onPostgres)('scale-out: two instances on one PostgreSQL database and one Redis', () => {
  let storage: TestStorage;
  let a: TestServer;
  let b: TestServer;
  beforeAll(async () => {
    storage = await createStorage();
    const env = { JWT_SECRET: SHARED_SECRET, REDIS_URL: 'redis://127.0.0.1:6379', REDIS_PREFIX: `bastion-test-${randomBytes(4).toString('hex')}:` };
    a = await TestServer.start(env, storage);
    b = await TestServer.start(env, storage);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await storage?.dispose();
  });

  it('a token issued by A works on B', async () => {
    const user = await register(a);
    const res = await b.gql<{ me: { id: string } }>('{ me { id } }', undefined, { token: user.accessToken });
    expect(res.body.data?.me.id).toBe(user.user.id);
  });

  it('login failures are counted across instances', async () => {
    const user = await register(a);
    for (let i = 0; i < 5; i++) {
      const server = i % 2 === 0 ? a : b;
      expect(errorCodes((await server.gql(LOGIN, { input: { login: user.user.email, password: `wrong-password-${i}` } })).body)).toEqual(['UNAUTHENTICATED']);
    }
    const locked = await a.gql(LOGIN, { input: { login: user.user.email, password: user.password } });
    expect(errorCodes(locked.body)).toEqual(['RATE_LIMITED']);
    const lockedOnB = await b.gql(LOGIN, { input: { login: user.user.email, password: user.password } });
    expect(errorCodes(lockedOnB.body)).toEqual(['RATE_LIMITED']);
  });

  it('an alert raised on A reaches a subscriber on B', async () => {
    const admin = await loginAdmin(a);
    const client = b.wsClient(admin.accessToken);
    try {
      const received = new Promise<{ data?: { alertRaised?: { kind: string } } }>((resolve, reject) => {
        client.subscribe({ query: 'subscription { alertRaised { id kind message } }' }, { next: (v) => resolve(v as never), error: reject, complete: () => undefined });
      });
      await new Promise((r) => setTimeout(r, 300)); // the subscription is registered on B
      const raised = await a.gql('mutation { raiseAlert(input: {severity: WARNING, kind: "CROSS_INSTANCE", message: "from A"}) { id } }', undefined, { token: admin.accessToken });
      expect(raised.body.errors).toBeUndefined();
      const event = await received;
      expect(event.data?.alertRaised?.kind).toBe('CROSS_INSTANCE');
    } finally {
      await client.dispose();
    }
  });

  it('a logout on A is refused on B at once (the revocation cache is invalidated everywhere)', async () => {
    const user = await register(a);
    // Warm B's cache first, so only the invalidation can make B refuse.
    expect((await b.gql('{ me { id } }', undefined, { token: user.accessToken })).status).toBe(200);
    await a.gql('mutation { logout }', undefined, { token: user.accessToken });
    await until(async () => (await b.gql('{ me { id } }', undefined, { token: user.accessToken })).status === 401, 2000);
  });

  it('an export created on A downloads from B', async () => {
    const user = await register(a);
    await a.gql('mutation { createReport(input: {title: "shared"}) { id } }', undefined, { token: user.accessToken });
    const created = await a.gql<{ createExport: { id: string } }>('mutation { createExport(input: {kind: REPORTS, format: NDJSON}) { id } }', undefined, { token: user.accessToken });
    const id = created.body.data!.createExport.id;
    let downloadUrl: string | null = null;
    await until(async () => {
      const res = await b.gql<{ export: { status: string; downloadUrl: string | null } }>('query($id: ID!) { export(id: $id) { status downloadUrl } }', { id }, { token: user.accessToken });
      downloadUrl = res.body.data?.export.downloadUrl ?? null;
      return res.body.data?.export.status === 'READY';
    });
    const onB = new URL(downloadUrl!);
    onB.host = new URL(b.url).host;
    const file = await fetch(onB);
    expect(file.status).toBe(200);
    expect(await file.text()).toContain('"title":"shared"');
  });

  it('the rate-limit counters are shared', async () => {
    // Both instances see the same overall limit state for one user: counted in Redis.
    const user = await register(a);
    const key = `${a.app.services.config.redisPrefix}rl:loginFailures`;
    expect(key).toContain('bastion-test-');
    await a.gql(LOGIN, { input: { login: user.user.username, password: 'wrong-password-z' } });
    const keys = await a.app.services.redis!.commands.keys(`${key}*`);
    expect(keys.length).toBeGreaterThan(0);
  });
});

describe.runIf(onPostgres)('resilience: losing Redis', () => {
  let storage: TestStorage;
  beforeAll(async () => {
    storage = await createStorage();
  });
  afterAll(() => storage?.dispose());

  it('keeps serving without Redis, reports degraded, raises an alert, and recovers', async () => {
    const port = await freePort();
    let redis = await startRedisServer(port);
    const server = await TestServer.start({ REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_PREFIX: `bastion-test-${randomBytes(4).toString('hex')}:`, RATE_LIMIT_PER_MINUTE: '1000' }, storage);
    try {
      const user = await register(server);
      expect((await readiness(server)).body).toMatchObject({ status: 'ok', redis: 'ok' });

      redis.kill('SIGKILL');
      await until(async () => (await readiness(server)).body['redis'] === 'down');
      const ready = await readiness(server);
      expect(ready).toMatchObject({ status: 200, body: { status: 'degraded', database: 'ok', redis: 'down' } });
      // Serving goes on: rate limits fall back to the in-process limiter.
      for (let i = 0; i < 3; i++) {
        const res = await server.gql<{ me: { id: string } }>('{ me { id } }', undefined, { token: user.accessToken });
        expect(res.body.data?.me.id).toBe(user.user.id);
      }
      await until(async () => {
        const alerts = await server.app.services.db.prisma.alert.findMany({ where: { kind: 'REDIS_DOWN', status: 'OPEN' } });
        return alerts.length === 1;
      });

      redis = await startRedisServer(port);
      await until(async () => (await readiness(server)).body['redis'] === 'ok', 15_000);
      expect((await readiness(server)).body).toMatchObject({ status: 'ok' });
      await until(async () => (await server.app.services.db.prisma.alert.count({ where: { kind: 'REDIS_DOWN', status: 'RESOLVED' } })) === 1);
    } finally {
      await server.close();
      redis.kill('SIGKILL');
    }
  });
});
