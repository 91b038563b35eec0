import type { Database } from '../db/database.js';
import { isDatabaseUnavailable } from '../db/errors.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { AuditSpillFile } from './auditSpillFile.js';

export type AuditOutcome = 'SUCCESS' | 'DENIED' | 'FAILURE';

export interface AuditEntry {
  action: string;
  outcome: AuditOutcome;
  actorId?: string | null;
  targetType?: string | null;
  targetId?: string | null;
  ip?: string | null;
  requestId?: string | null;
  /** The contract error code of a DENIED or FAILURE outcome. */
  code?: string | null;
  /** Extra detail; never secrets. */
  detail?: Record<string, unknown>;
}

interface PendingRow extends AuditEntry {
  count: number;
  createdAt: Date;
  /** Times the database refused this row for a reason other than an outage. */
  refusals?: number;
}

/** How often the buffer is written; also the window in which identical aggregated events fold. */
const FLUSH_INTERVAL_MS = 500;
/** Rows kept in memory while the database cannot take them; past it the oldest go to the spill file. */
const DEFAULT_MAX_BACKLOG = 50_000;
/** While the database is unavailable, writes are retried at growing intervals up to this one. */
const MAX_RETRY_INTERVAL_MS = 8_000;
/** A row the database refuses this often (not an outage: the row itself) goes to the spill file. */
const MAX_REFUSALS = 3;

export interface AuditLogOptions {
  db: Database;
  logger: Logger;
  metrics: Metrics;
  /** The spill file's folder, on local disk (DATA_DIR/audit-spill). */
  spillDir: string;
  /** Called when rows had to be spilled: the operator must know (a CRITICAL alert). */
  onSpill?: (rows: number, reason: string) => void;
  maxBacklog?: number;
}

/**
 * The audit log's writer. Writes leave the request's critical path: entries are buffered and
 * written in batches. Under a flood, `recordAggregated` folds identical events (same action,
 * outcome, actor, IP and target) of one window into one row with a count.
 *
 * No accepted entry is lost: while the database is unavailable the rows stay queued, in order,
 * and are retried every interval; past the backlog bound, at shutdown during an outage, or when
 * the database keeps refusing a row, rows go to a local spill file (counted, alerted) that is
 * replayed at the next start.
 */
export class AuditLog {
  private pending: PendingRow[] = [];
  private aggregated = new Map<string, PendingRow>();
  private flushing: Promise<void> | undefined;
  /** The rows of the write under way: until it settles they are in neither queue. */
  private writing: PendingRow[] = [];
  private readonly timer: NodeJS.Timeout;
  private readonly spill: AuditSpillFile;
  private readonly maxBacklog: number;
  /** Interval-driven writes wait until then after an outage (growing backoff); explicit flushes do not. */
  private retryAt = 0;
  private retryInterval = FLUSH_INTERVAL_MS;

  constructor(private readonly options: AuditLogOptions) {
    this.spill = new AuditSpillFile(options.spillDir);
    this.maxBacklog = options.maxBacklog ?? DEFAULT_MAX_BACKLOG;
    this.timer = setInterval(() => {
      if (Date.now() >= this.retryAt) void this.flush();
    }, FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  record(entry: AuditEntry): void {
    this.pending.push({ ...entry, count: 1, createdAt: new Date() });
    this.bound();
  }

  recordAggregated(entry: AuditEntry): void {
    const key = [entry.action, entry.outcome, entry.code, entry.actorId, entry.ip, entry.targetType, entry.targetId].join('\u0000');
    const existing = this.aggregated.get(key);
    if (existing) existing.count += 1;
    else this.aggregated.set(key, { ...entry, count: 1, createdAt: new Date() });
  }

  /** Rows accepted and not yet in the database. */
  get backlog(): number {
    return this.writing.length + this.pending.length + this.aggregated.size;
  }

  /**
   * Writes everything buffered so far; rows the database cannot take now stay queued. Concurrent
   * calls share one write.
   */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.backlog === 0) return;
    const rows = [...this.pending, ...this.aggregated.values()];
    this.pending = [];
    this.aggregated = new Map();
    this.writing = rows;
    this.flushing = this.write(rows).finally(() => {
      this.writing = [];
      this.flushing = undefined;
      this.options.metrics.auditBacklog.set(this.backlog);
    });
    await this.flushing;
  }

  /** Writes what the database will take; whatever remains is spilled to local disk. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    if (this.backlog > 0) this.spillBacklog('the server stopped while the database was unavailable');
  }

  /** Moves every row still waiting to the spill file at once (a drain that ran out of time). */
  spillBacklog(reason: string): void {
    this.spillRows(this.takeAll(), reason);
  }

  /** Writes rows spilled by an earlier run into the database (at start, before serving). */
  async replaySpilled(): Promise<number> {
    let replayed = 0;
    for (const file of this.spill.files()) {
      const rows = this.spill.read(file) as Array<ReturnType<typeof toData>>;
      await this.options.db.prisma.auditEvent.createMany({ data: rows.map((row) => ({ ...row, createdAt: new Date(row.createdAt) })) });
      this.spill.remove(file);
      replayed += rows.length;
    }
    if (replayed > 0) this.options.logger.warn({ rows: replayed }, 'replayed audit rows from the spill file');
    return replayed;
  }

  private async write(rows: PendingRow[]): Promise<void> {
    const { prisma } = this.options.db;
    try {
      await prisma.auditEvent.createMany({ data: rows.map(toData) });
      this.retryInterval = FLUSH_INTERVAL_MS;
      return;
    } catch (error) {
      if (isDatabaseUnavailable(error)) return this.requeue(rows, error);
    }
    // The batch was refused, not the connection: find the row(s) at fault, in order. An outage
    // met on the way puts the rest back in the queue.
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      try {
        await prisma.auditEvent.create({ data: toData(row) });
      } catch (error) {
        if (isDatabaseUnavailable(error)) return this.requeue(rows.slice(i), error);
        row.refusals = (row.refusals ?? 0) + 1;
        if (row.refusals >= MAX_REFUSALS) {
          this.options.logger.error({ err: error, action: row.action }, 'the database keeps refusing an audit row');
          this.spillRows([row], 'the database refused the row');
        } else {
          this.pending.push(row);
        }
      }
    }
  }

  /** Puts rows back at the head of the queue, in their order, for the next interval. */
  private requeue(rows: PendingRow[], error: unknown): void {
    this.options.logger.warn({ err: error, rows: rows.length }, 'audit write failed: the database is unavailable; rows stay queued');
    this.pending = rows.concat(this.pending);
    this.bound();
    this.retryAt = Date.now() + this.retryInterval;
    this.retryInterval = Math.min(this.retryInterval * 2, MAX_RETRY_INTERVAL_MS);
  }

  /**
   * Every row not known to be written, the write under way included (at least once: a row whose
   * write commits just as the process exits may also be spilled).
   */
  private takeAll(): PendingRow[] {
    const rows = [...new Set([...this.writing, ...this.pending, ...this.aggregated.values()])];
    this.writing = [];
    this.pending = [];
    this.aggregated = new Map();
    return rows;
  }

  /** Past the bound, the oldest rows go to the spill file rather than being dropped. */
  private bound(): void {
    if (this.pending.length <= this.maxBacklog) return;
    this.spillRows(this.pending.splice(0, this.pending.length - this.maxBacklog), 'the audit backlog is full');
  }

  private spillRows(rows: PendingRow[], reason: string): void {
    const file = this.spill.write(rows.map(toData));
    this.options.metrics.auditSpilled.inc(rows.length);
    this.options.logger.error({ rows: rows.length, file, reason }, 'audit rows written to the spill file; they are replayed at the next start');
    this.options.onSpill?.(rows.length, reason);
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
    code: row.code ?? null,
    detail: row.detail ? JSON.stringify(row.detail) : null,
    count: row.count,
    createdAt: row.createdAt,
  };
}
