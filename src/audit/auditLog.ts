import type { Database } from '../db/database.js';
import type { Logger } from '../observability/logger.js';

export type AuditOutcome = 'SUCCESS' | 'DENIED' | 'FAILURE';

export interface AuditEntry {
  action: string;
  outcome: AuditOutcome;
  actorId?: string | null;
  targetType?: string | null;
  targetId?: string | null;
  ip?: string | null;
  requestId?: string | null;
  /** Extra detail; never secrets. */
  detail?: Record<string, unknown>;
}

interface PendingRow extends AuditEntry {
  count: number;
  createdAt: Date;
}

/** How often the buffer is written; also the window in which identical aggregated events fold. */
const FLUSH_INTERVAL_MS = 500;
/** Rows kept while the database refuses writes; past it the oldest are logged and dropped. */
const MAX_PENDING = 50_000;

/**
 * The audit log's writer. Writes leave the request's critical path: entries are buffered and
 * written in batches, retried when the database fails, and flushed on shutdown. Under a flood,
 * `recordAggregated` folds identical events (same action, outcome, actor, IP and target) of one
 * window into one row with a count, so an attacker cannot fill the database.
 */
export class AuditLog {
  private pending: PendingRow[] = [];
  private aggregated = new Map<string, PendingRow>();
  private flushing: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly db: Database,
    private readonly logger: Logger,
  ) {
    this.timer = setInterval(() => void this.flush(), FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  record(entry: AuditEntry): void {
    this.pending.push({ ...entry, count: 1, createdAt: new Date() });
    this.bound();
  }

  recordAggregated(entry: AuditEntry): void {
    const key = [entry.action, entry.outcome, entry.actorId, entry.ip, entry.targetType, entry.targetId].join('\u0000');
    const existing = this.aggregated.get(key);
    if (existing) existing.count += 1;
    else this.aggregated.set(key, { ...entry, count: 1, createdAt: new Date() });
  }

  /** Writes everything buffered so far. Concurrent calls share one write. */
  async flush(): Promise<void> {
    if (this.flushing) await this.flushing;
    if (this.pending.length === 0 && this.aggregated.size === 0) return;
    const rows = [...this.pending, ...this.aggregated.values()];
    this.pending = [];
    this.aggregated = new Map();
    this.flushing = this.write(rows).finally(() => (this.flushing = undefined));
    await this.flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    if (this.pending.length > 0) {
      this.logger.error({ audit: this.pending }, 'audit rows could not be written before shutdown');
    }
  }

  private async write(rows: PendingRow[]): Promise<void> {
    try {
      await this.db.prisma.auditEvent.createMany({ data: rows.map(toData) });
    } catch (error) {
      // One bad row must not block the rest: write one by one. If none goes in, the
      // database is down: keep them all for the next flush.
      const failed: PendingRow[] = [];
      for (const row of rows) {
        await this.db.prisma.auditEvent.create({ data: toData(row) }).catch(() => failed.push(row));
      }
      if (failed.length === rows.length) {
        this.logger.warn({ err: error, rows: rows.length }, 'audit write failed; will retry');
        this.pending = rows.concat(this.pending);
        this.bound();
      } else if (failed.length > 0) {
        this.logger.error({ audit: failed }, 'audit rows rejected by the database: kept in the log instead');
      }
    }
  }

  private bound(): void {
    if (this.pending.length <= MAX_PENDING) return;
    const dropped = this.pending.splice(0, this.pending.length - MAX_PENDING);
    this.logger.error({ audit: dropped }, 'audit buffer full: oldest rows written to the log instead');
  }
}

function toData(row: PendingRow) {
  return {
    action: row.action,
    outcome: row.outcome,
    actorId: row.actorId ?? null,
    targetType: row.targetType ?? null,
    targetId: row.targetId ?? null,
    ip: row.ip ?? null,
    requestId: row.requestId ?? null,
    detail: row.detail ? JSON.stringify(row.detail) : null,
    count: row.count,
    createdAt: row.createdAt,
  };
}
