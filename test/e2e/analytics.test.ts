import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCodes, LOGIN, loginAdmin, register, skipSuite, TestServer, uniqueUser, userWithRole, type Session } from '../helpers/server.js';

const OVERVIEW = `query($range: TimeRangeInput) { analyticsOverview(range: $range) {
  totalUsers activeUsers newUsers totalReports reportsByStatus { status count } requests errors errorRate p95LatencyMs
} }`;
const TIMESERIES = `query($range: TimeRangeInput!, $bucket: TimeBucket!) { reportTimeseries(range: $range, bucket: $bucket) { bucket points { t count } } }`;
const SECURITY = `query($range: TimeRangeInput) { securityOverview(range: $range) {
  failedLogins rateLimited deniedAccess lockedAccounts topOffenders { ip count }
} }`;

interface Overview {
  totalUsers: number;
  activeUsers: number;
  newUsers: number;
  totalReports: number;
  reportsByStatus: Array<{ status: string; count: number }>;
  requests: number;
  errors: number;
  errorRate: number;
  p95LatencyMs: number;
}
interface Security {
  failedLogins: number;
  rateLimited: number;
  deniedAccess: number;
  lockedAccounts: number;
  topOffenders: Array<{ ip: string; count: number }>;
}

describe.skipIf(skipSuite())('analytics', () => {
  let server: TestServer;
  let analyst: Session;
  let user: Session;

  beforeAll(async () => {
    server = await TestServer.start();
    analyst = await userWithRole(server, 'ANALYST');
    user = await register(server);
  });
  afterAll(() => server.close());

  async function ask<T>(query: string, variables: Record<string, unknown>, session: Session = analyst): Promise<T> {
    const res = await server.gql<Record<string, T>>(query, variables, { token: session.accessToken });
    if (!res.body.data) throw new Error(JSON.stringify(res.body.errors));
    return Object.values(res.body.data)[0]!;
  }

  it('is for ANALYST and ADMIN only', async () => {
    for (const [query, variables] of [
      [OVERVIEW, {}],
      [TIMESERIES, { range: {}, bucket: 'DAY' }],
      [SECURITY, {}],
    ] as const) {
      const res = await server.gql(query, variables, { token: user.accessToken });
      expect(errorCodes(res.body)).toEqual(['FORBIDDEN']);
    }
    const admin = await loginAdmin(server);
    expect(await ask<Overview>(OVERVIEW, {}, admin)).toHaveProperty('totalUsers');
  });

  it('agrees with the users and reports in the database', async () => {
    const { prisma } = server.app.services.db;
    const before = await ask<Overview>(OVERVIEW, {});
    const writer = await register(server);
    for (const status of ['DRAFT', 'PUBLISHED', 'PUBLISHED', 'ARCHIVED']) {
      const res = await server.gql(`mutation($input: CreateReportInput!) { createReport(input: $input) { id } }`, { input: { title: status, status } }, { token: writer.accessToken });
      expect(res.body.errors).toBeUndefined();
    }
    // A failing request counts as an error in the server's own metrics.
    await server.gql(OVERVIEW, { range: { from: '2025-02-01T00:00:00Z', to: '2025-01-01T00:00:00Z' } }, { token: analyst.accessToken });
    const after = await ask<Overview>(OVERVIEW, {});

    expect(after.totalUsers).toBe(await prisma.user.count());
    expect(after.totalUsers).toBe(before.totalUsers + 1);
    expect(after.newUsers).toBe(before.newUsers + 1);
    expect(after.activeUsers).toBe(await prisma.user.count({ where: { lastLoginAt: { not: null } } }));
    expect(after.totalReports).toBe(before.totalReports + 4);
    const delta = Object.fromEntries(after.reportsByStatus.map((s, i) => [s.status, s.count - before.reportsByStatus[i]!.count]));
    expect(delta).toEqual({ DRAFT: 1, PUBLISHED: 2, ARCHIVED: 1 });
    expect(after.requests).toBeGreaterThan(before.requests);
    expect(after.errors).toBeGreaterThan(before.errors);
    expect(after.errorRate).toBeCloseTo(after.errors / after.requests, 10);
    expect(after.p95LatencyMs).toBeGreaterThan(0);

    // A range with nobody in it: zeros, not errors.
    const empty = await ask<Overview>(OVERVIEW, { range: { from: '2001-01-01T00:00:00Z', to: '2001-02-01T00:00:00Z' } });
    expect(empty).toMatchObject({ activeUsers: 0, newUsers: 0 });
  });

  it('counts reports per UTC hour, day and Monday-based week, zeros included', async () => {
    const { prisma } = server.app.services.db;
    const author = (await register(server)).user.id;
    const at = [
      '2024-12-29T23:59:59.999Z', // Sunday: before the range
      '2024-12-30T00:00:00.000Z', // Monday: first instant of the range
      '2025-01-05T23:30:00.000Z', // Sunday, same week
      '2025-01-06T00:30:00.000Z', // Monday, next week
      '2025-01-06T00:45:00.000Z',
      '2025-01-12T10:00:00.000Z',
      '2025-01-20T00:00:00.000Z', // equal to `to`: outside the half-open range
    ];
    await prisma.report.createMany({ data: at.map((t, i) => ({ authorId: author, title: `ts ${i}`, createdAt: new Date(t) })) });
    const range = { from: '2024-12-30T00:00:00Z', to: '2025-01-20T00:00:00Z' };

    const weeks = await ask<{ bucket: string; points: Array<{ t: string; count: number }> }>(TIMESERIES, { range, bucket: 'WEEK' });
    expect(weeks.bucket).toBe('WEEK');
    expect(weeks.points).toEqual([
      { t: '2024-12-30T00:00:00.000Z', count: 2 },
      { t: '2025-01-06T00:00:00.000Z', count: 3 },
      { t: '2025-01-13T00:00:00.000Z', count: 0 },
    ]);

    const days = await ask<{ points: Array<{ t: string; count: number }> }>(TIMESERIES, { range, bucket: 'DAY' });
    expect(days.points).toHaveLength(21);
    expect(days.points.filter((p) => p.count > 0)).toEqual([
      { t: '2024-12-30T00:00:00.000Z', count: 1 },
      { t: '2025-01-05T00:00:00.000Z', count: 1 },
      { t: '2025-01-06T00:00:00.000Z', count: 2 },
      { t: '2025-01-12T00:00:00.000Z', count: 1 },
    ]);

    const hours = await ask<{ points: Array<{ t: string; count: number }> }>(TIMESERIES, {
      range: { from: '2025-01-05T22:15:00Z', to: '2025-01-06T02:00:00Z' },
      bucket: 'HOUR',
    });
    expect(hours.points).toEqual([
      { t: '2025-01-05T22:00:00.000Z', count: 0 },
      { t: '2025-01-05T23:00:00.000Z', count: 1 },
      { t: '2025-01-06T00:00:00.000Z', count: 2 },
      { t: '2025-01-06T01:00:00.000Z', count: 0 },
    ]);

    const nothing = await ask<{ points: Array<{ count: number }> }>(TIMESERIES, { range: { from: '2001-01-01T00:00:00Z', to: '2001-01-08T00:00:00Z' }, bucket: 'DAY' });
    expect(nothing.points.map((p) => p.count)).toEqual([0, 0, 0, 0, 0, 0, 0]);
  });

  it('refuses a range that is reversed or longer than a year', async () => {
    for (const range of [
      { from: '2025-02-01T00:00:00Z', to: '2025-01-01T00:00:00Z' },
      { from: '2023-01-01T00:00:00Z', to: '2025-01-01T00:00:00Z' },
    ]) {
      for (const [query, variables] of [
        [OVERVIEW, { range }],
        [TIMESERIES, { range, bucket: 'DAY' }],
        [SECURITY, { range }],
      ] as const) {
        const res = await server.gql(query, variables, { token: analyst.accessToken });
        expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'range' });
      }
    }
    const leapYear = await server.gql(TIMESERIES, { range: { from: '2024-01-01T00:00:00Z', to: '2025-01-01T00:00:00Z' }, bucket: 'WEEK' }, { token: analyst.accessToken });
    expect(leapYear.body.errors).toBeUndefined();
  });

  it('summarises security events from the audit log', async () => {
    const before = await ask<Security>(SECURITY, {});
    const victim = uniqueUser();
    await register(server, victim);
    // Five wrong passwords spend the (IP, login) allowance; the sixth attempt is rate limited.
    for (let i = 0; i < 6; i++) {
      await server.gql(LOGIN, { input: { login: victim.email, password: 'wrong-password-123' } });
    }
    // Two denied accesses: a USER asking for analytics, and an anonymous caller asking for itself.
    await server.gql(SECURITY, {}, { token: user.accessToken });
    await server.gql(`{ me { id } }`);
    const after = await ask<Security>(SECURITY, {});

    expect(after.failedLogins - before.failedLogins).toBe(5);
    expect(after.rateLimited - before.rateLimited).toBe(1);
    expect(after.deniedAccess - before.deniedAccess).toBe(2);
    expect(after.lockedAccounts - before.lockedAccounts).toBe(1);
    const local = (s: Security) => s.topOffenders.find((o) => /127\.0\.0\.1/.test(o.ip))?.count ?? 0;
    // 5 failed logins + 1 rate limited + 1 lockout + 2 denied.
    expect(local(after) - local(before)).toBe(9);
    expect(after.topOffenders.length).toBeLessThanOrEqual(10);

    const elsewhere = await ask<Security>(SECURITY, { range: { from: '2001-01-01T00:00:00Z', to: '2001-02-01T00:00:00Z' } });
    expect(elsewhere).toEqual({ failedLogins: 0, rateLimited: 0, deniedAccess: 0, lockedAccounts: 0, topOffenders: [] });
  });
});
