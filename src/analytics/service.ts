import type { AuditLog } from '../observability/auditLog.js';
import { sqlParam, type Database, type Prisma } from '../db/database.js';
import type { Metrics } from '../observability/metrics.js';
import { zeroFilled, type TimeBucket } from './timeBuckets.js';
import type { TimeRange } from '../kernel/timeRange.js';

const REPORT_STATUSES = ['DRAFT', 'PUBLISHED', 'ARCHIVED'] as const;

/** Audit actions that are security events (written by SecurityEvents and the identity service). */
const SECURITY_ACTIONS = ['accessDenied', 'rateLimited', 'invalidToken', 'loginLocked', 'refreshTokenReplay'];

/**
 * A failed login: the mutation audit's `login` row refused with wrong credentials. A login refused
 * by the failed-login limit is not counted here: it already counts once, as a `rateLimited` event.
 */
const FAILED_LOGIN: Prisma.AuditEventWhereInput = {
  action: 'login',
  outcome: 'FAILURE',
  code: 'UNAUTHENTICATED',
};

/** UTC bucket start of `createdAt`, per dialect; weeks start on Monday on both. */
const BUCKET_SQL: Record<'sqlite' | 'postgresql', Record<TimeBucket, string>> = {
  sqlite: {
    HOUR: `strftime('%Y-%m-%dT%H:00:00Z', "createdAt")`,
    DAY: `strftime('%Y-%m-%dT00:00:00Z', "createdAt")`,
    // 'weekday 0' moves forward to Sunday (or stays on it); six days back is that week's Monday.
    WEEK: `strftime('%Y-%m-%dT00:00:00Z', "createdAt", 'weekday 0', '-6 days')`,
  },
  postgresql: {
    HOUR: `date_trunc('hour', "createdAt")`,
    DAY: `date_trunc('day', "createdAt")`,
    WEEK: `date_trunc('week', "createdAt")`,
  },
};

export interface AnalyticsDeps {
  db: Database;
  metrics: Metrics;
  audit: AuditLog;
}

/** Figures computed by the database (counts, sums, group-bys); no rows are loaded into memory. */
export class AnalyticsService {
  constructor(private readonly deps: AnalyticsDeps) {}

  private get prisma() {
    return this.deps.db.prisma;
  }

  /** The n-th positional parameter of a raw statement in this dialect. */
  private param(n: number): string {
    return sqlParam(this.deps.db.provider, n);
  }

  async overview({ from, to }: TimeRange) {
    const inRange = { gte: from, lt: to };
    const [totalUsers, activeUsers, newUsers, byStatus, operations] = await Promise.all([
      this.prisma.user.count(),
      this.prisma.user.count({ where: { lastLoginAt: inRange } }),
      this.prisma.user.count({ where: { createdAt: inRange } }),
      this.prisma.report.groupBy({ by: ['status'], _count: { _all: true } }),
      this.deps.metrics.operationSummary(),
    ]);
    const counts = new Map(byStatus.map((row) => [row.status, row._count._all]));
    const reportsByStatus = REPORT_STATUSES.map((status) => ({ status, count: counts.get(status) ?? 0 }));
    return {
      totalUsers,
      activeUsers,
      newUsers,
      totalReports: reportsByStatus.reduce((sum, row) => sum + row.count, 0),
      reportsByStatus,
      requests: operations.requests,
      errors: operations.errors,
      errorRate: operations.requests === 0 ? 0 : operations.errors / operations.requests,
      p95LatencyMs: operations.p95Ms,
    };
  }

  /** Reports created per UTC bucket of [from, to), one point per bucket, zeros included. */
  async reportTimeseries({ from, to }: TimeRange, bucket: TimeBucket) {
    const expression = BUCKET_SQL[this.deps.db.provider][bucket];
    const rows = await this.prisma.$queryRawUnsafe<Array<{ bucket: Date | string; n: number | bigint }>>(
      `SELECT ${expression} AS "bucket", COUNT(*) AS "n" FROM "Report" WHERE "createdAt" >= ${this.param(1)} AND "createdAt" < ${this.param(2)} GROUP BY 1`,
      from,
      to,
    );
    const counts = new Map(rows.map((row) => [new Date(row.bucket).getTime(), Number(row.n)]));
    return { bucket, points: zeroFilled(from, to, bucket, counts) };
  }

  /** Security figures from the audit log; aggregated rows stand for `count` events each. */
  async securityOverview({ from, to }: TimeRange) {
    await this.deps.audit.flush(); // events of the last moments are still buffered
    const createdAt = { gte: from, lt: to };
    const sumOf = async (where: Prisma.AuditEventWhereInput) =>
      (await this.prisma.auditEvent.aggregate({ where: { ...where, createdAt }, _sum: { count: true } }))._sum.count ?? 0;
    const [failedLogins, rateLimited, deniedAccess, locked, offenders] = await Promise.all([
      sumOf(FAILED_LOGIN),
      sumOf({ action: 'rateLimited' }),
      sumOf({ action: 'accessDenied' }),
      this.prisma.$queryRawUnsafe<Array<{ n: number | bigint }>>(
        `SELECT COUNT(DISTINCT "targetId") AS "n" FROM "AuditEvent" WHERE "action" = 'loginLocked' AND "createdAt" >= ${this.param(1)} AND "createdAt" < ${this.param(2)}`,
        from,
        to,
      ),
      this.prisma.auditEvent.groupBy({
        by: ['ip'],
        where: { createdAt, ip: { not: null }, OR: [{ action: { in: SECURITY_ACTIONS } }, FAILED_LOGIN] },
        _sum: { count: true },
        orderBy: [{ _sum: { count: 'desc' } }, { ip: 'asc' }],
        take: 10,
      }),
    ]);
    return {
      failedLogins,
      rateLimited,
      deniedAccess,
      lockedAccounts: Number(locked[0]?.n ?? 0),
      topOffenders: offenders.map((row) => ({ ip: row.ip!, count: row._sum.count ?? 0 })),
    };
  }
}
