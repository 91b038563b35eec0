import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCodes, loginAdmin, register, skipSuite, TestServer, type Session } from '../helpers/server.js';

const RUN = 'mutation Run($task: MaintenanceTask!) { runMaintenance(task: $task) { task ok detail durationMs } }';
const DAY_MS = 24 * 3600 * 1000;

interface Result {
  task: string;
  ok: boolean;
  detail: string;
  durationMs: number;
}

const daysAgo = (days: number) => new Date(Date.now() - days * DAY_MS);
/** The first number in a result's detail ("purged 3 expired sessions"). */
const purged = (result: Result) => Number(/purged (\d+)/.exec(result.detail)?.[1]);

describe.skipIf(skipSuite())('maintenance tasks', () => {
  let server: TestServer;
  let admin: Session;
  let user: Session;
  const prisma = () => server.app.services.db.prisma;
  const run = async (task: string): Promise<Result> => {
    const res = await server.gql<{ runMaintenance: Result }>(RUN, { task }, { token: admin.accessToken });
    expect(res.body.errors).toBeUndefined();
    return res.body.data!.runMaintenance;
  };

  beforeAll(async () => {
    server = await TestServer.start({ AUDIT_RETENTION_DAYS: '30', METRICS_RETENTION_DAYS: '7' });
    admin = await loginAdmin(server);
    user = await register(server);
  });
  afterAll(() => server.close());

  it('PURGE_EXPIRED_SESSIONS deletes expired sessions and their refresh tokens, keeping live ones', async () => {
    const expired = await prisma().session.create({
      data: {
        userId: user.user.id,
        expiresAt: daysAgo(1),
        tokens: { create: { tokenHash: randomBytes(32).toString('hex'), expiresAt: daysAgo(1) } },
      },
    });
    const result = await run('PURGE_EXPIRED_SESSIONS');
    expect(result).toMatchObject({ task: 'PURGE_EXPIRED_SESSIONS', ok: true, detail: 'purged 1 expired session' });
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
    expect(await prisma().session.findUnique({ where: { id: expired.id } })).toBeNull();
    expect(await prisma().refreshToken.count({ where: { sessionId: expired.id } })).toBe(0);
    // The live sessions still work.
    const me = await server.gql<{ me: { id: string } }>('{ me { id } }', undefined, { token: user.accessToken });
    expect(me.body.data?.me.id).toBe(user.user.id);
  });

  it('PURGE_EXPIRED_EXPORTS deletes expired exports with their chunks, keeping the rest', async () => {
    const chunk = (seq: number) => ({ seq, data: new Uint8Array(Buffer.from(`chunk ${seq}`)) });
    const expired = await prisma().export.create({
      data: { creatorId: user.user.id, kind: 'REPORTS', format: 'CSV', status: 'READY', expiresAt: daysAgo(1), chunks: { create: [chunk(0), chunk(1)] } },
    });
    const live = await prisma().export.create({
      data: { creatorId: user.user.id, kind: 'REPORTS', format: 'CSV', status: 'READY', expiresAt: new Date(Date.now() + DAY_MS), chunks: { create: [chunk(0)] } },
    });
    const result = await run('PURGE_EXPIRED_EXPORTS');
    expect(result).toMatchObject({ ok: true, detail: 'purged 1 expired export and 2 file chunks' });
    expect(await prisma().export.findUnique({ where: { id: expired.id } })).toBeNull();
    expect(await prisma().exportChunk.count({ where: { exportId: expired.id } })).toBe(0);
    expect(await prisma().exportChunk.count({ where: { exportId: live.id } })).toBe(1);
  });

  it('PURGE_OLD_AUDIT deletes events past AUDIT_RETENTION_DAYS, and two runs at once split the work', async () => {
    await prisma().auditEvent.createMany({
      data: [40, 45, 50, 60, 90].map((days) => ({ action: 'maintenanceSeed', outcome: 'SUCCESS', createdAt: daysAgo(days) })),
    });
    await prisma().auditEvent.create({ data: { action: 'maintenanceSeed', outcome: 'SUCCESS', createdAt: daysAgo(29) } });
    const [first, second] = await Promise.all([run('PURGE_OLD_AUDIT'), run('PURGE_OLD_AUDIT')]);
    expect(first.ok && second.ok).toBe(true);
    expect(purged(first) + purged(second)).toBe(5);
    expect(first.detail).toMatch(/^purged \d+ audit events? older than 30 days$/);
    expect(await prisma().auditEvent.count({ where: { action: 'maintenanceSeed' } })).toBe(1);
  });

  it('PURGE_OLD_METRICS deletes samples past METRICS_RETENTION_DAYS', async () => {
    const sample = (t: Date) => ({ t, cpuPercent: 1, memoryPercent: 2, eventLoopLagMs: 0, requestsPerSecond: 0, errorRate: 0 });
    await prisma().metricSample.createMany({ data: [sample(daysAgo(8)), sample(daysAgo(30)), sample(daysAgo(6))] });
    const result = await run('PURGE_OLD_METRICS');
    expect(result).toMatchObject({ ok: true, detail: 'purged 2 metric samples older than 7 days' });
    expect(await prisma().metricSample.count({ where: { t: { lt: daysAgo(7) } } })).toBe(0);
    expect(await prisma().metricSample.count({ where: { t: { gte: daysAgo(7) } } })).toBeGreaterThanOrEqual(1);
  });

  it('CLEAR_CACHES empties the auth-state cache and lifts IP blocks; tokens keep working', async () => {
    const result = await run('CLEAR_CACHES');
    expect(result.ok).toBe(true);
    // The admin's own request filled the cache with its session and user.
    expect(result.detail).toMatch(/^cleared [1-9]\d* cached items? and 0 IP blocks; /);
    const me = await server.gql<{ me: { id: string } }>('{ me { id } }', undefined, { token: user.accessToken });
    expect(me.body.data?.me.id).toBe(user.user.id);
  });

  it('audits each run with what it did', async () => {
    await run('PURGE_OLD_METRICS');
    await server.app.services.audit.flush();
    const row = await prisma().auditEvent.findFirst({ where: { action: 'runMaintenance', actorId: admin.user.id }, orderBy: { createdAt: 'desc' } });
    expect(row).toMatchObject({ outcome: 'SUCCESS' });
    expect(JSON.parse(row!.detail!)).toMatchObject({ task: 'PURGE_OLD_METRICS', ok: true, detail: expect.stringMatching(/^purged \d+ metric samples?/), durationMs: expect.any(Number) });
  });

  it('is for ADMIN only', async () => {
    const res = await server.gql(RUN, { task: 'CLEAR_CACHES' }, { token: user.accessToken });
    expect(errorCodes(res.body)).toEqual(['FORBIDDEN']);
  });
});

describe.skipIf(skipSuite())('feature switches', () => {
  let server: TestServer;
  let admin: Session;
  beforeAll(async () => {
    server = await TestServer.start({ ENABLE_ANALYTICS: 'false', ENABLE_EXPORTS: 'false', ENABLE_ADMIN: 'false' });
    admin = await loginAdmin(server);
  });
  afterAll(() => server.close());

  it.each([
    ['ANALYTICS', '{ analyticsOverview { totalUsers } }'],
    ['EXPORTS', 'mutation { createExport(input: { kind: REPORTS, format: CSV }) { id } }'],
    ['ADMIN', '{ systemStatus { status } }'],
    ['ADMIN', '{ users { totalCount } }'],
    ['ADMIN', 'mutation { runMaintenance(task: CLEAR_CACHES) { ok } }'],
  ])('a disabled %s area answers FEATURE_DISABLED: %s', async (feature, query) => {
    const res = await server.gql(query, undefined, { token: admin.accessToken });
    expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'FEATURE_DISABLED', feature });
  });

  it('refuses a subscription of a disabled area at subscribe time', async () => {
    const client = server.wsClient(admin.accessToken);
    try {
      // Refused before any stream exists: graphql-ws answers with the errors (as `next` or `error`), then ends.
      const errors: unknown[] = [];
      await new Promise<void>((resolve) => {
        client.subscribe(
          { query: 'subscription { alertRaised { id } }' },
          {
            next: (result) => void errors.push(...(result.errors ?? [])),
            error: (error) => {
              errors.push(...(Array.isArray(error) ? error : [error]));
              resolve();
            },
            complete: resolve,
          },
        );
      });
      expect((errors as Array<{ extensions?: { code?: string } }>).map((e) => e.extensions?.code)).toEqual(['FEATURE_DISABLED']);
    } finally {
      await client.dispose();
    }
  });

  it('keeps the fields in the schema, and still asks anonymous callers to sign in first', async () => {
    const res = await server.gql<{ query: { fields: Array<{ name: string }> }; mutation: { fields: Array<{ name: string }> } }>(
      '{ query: __type(name: "Query") { fields { name } } mutation: __type(name: "Mutation") { fields { name } } }',
    );
    const names = [...res.body.data!.query.fields, ...res.body.data!.mutation.fields].map((f) => f.name);
    expect(names).toEqual(expect.arrayContaining(['analyticsOverview', 'createExport', 'systemStatus', 'users', 'runMaintenance']));
    const anonymous = await server.gql('{ systemStatus { status } }');
    expect(errorCodes(anonymous.body)).toEqual(['UNAUTHENTICATED']);
  });
});
