import type { AuditLog } from '../observability/auditLog.js';
import type { Database } from '../db/database.js';
import type { Leases } from '../db/leases.js';
import type { PubSub } from '../messaging/pubsub.js';
import type { Logger } from '../observability/logger.js';
import { ExportInterrupted, produceExport } from './producer.js';

/** A run renews its lease after every batch; a dead instance's exports are free again after this. */
const LEASE_MS = 60_000;
/** How often unfinished exports are looked for (left by a crash, or queued on a stopped instance). */
const SWEEP_MS = 30_000;
const SWEEP_BATCH = 50;
/** An instance that stops mid-export says so here, so another instance resumes it at once. */
const RELEASED_CHANNEL = 'exports.released';

export interface ExportWorkerDeps {
  db: Database;
  audit: AuditLog;
  logger: Logger;
  leases: Leases;
  pubsub: PubSub;
}

/**
 * Produces exports in the background, one at a time per instance (bounded memory and database
 * load). Any instance may run any PENDING export: a lease per export makes sure only one does.
 * Exports left PENDING by a crash are picked up again, from the start, by the next sweep of any
 * instance once their lease has expired; that includes the sweep at start-up. An instance that
 * stops mid-export releases the lease and announces it, so another instance resumes at once.
 */
export class ExportWorker {
  private readonly queue: string[] = [];
  /** Queued or running here. */
  private readonly known = new Set<string>();
  private active: Promise<void> | undefined;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: ExportWorkerDeps) {}

  start(): void {
    this.deps.pubsub.subscribe(RELEASED_CHANNEL, (id) => {
      if (typeof id === 'string') this.enqueue(id);
    });
    void this.sweep();
    this.timer = setInterval(() => void this.sweep(), SWEEP_MS);
    this.timer.unref();
  }

  enqueue(id: string): void {
    if (this.closed || this.known.has(id)) return;
    this.known.add(id);
    this.queue.push(id);
    this.drain();
  }

  /** Stops taking work; a running export stops after its current batch and stays PENDING. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.active;
  }

  private drain(): void {
    if (this.active || this.closed) return;
    const id = this.queue.shift();
    if (id === undefined) return;
    this.active = this.run(id).finally(() => {
      this.known.delete(id);
      this.active = undefined;
      this.drain();
    });
  }

  private async sweep(): Promise<void> {
    try {
      const pending = await this.deps.db.prisma.export.findMany({
        where: { status: 'PENDING', expiresAt: { gt: new Date() } },
        orderBy: { createdAt: 'asc' },
        take: SWEEP_BATCH,
        select: { id: true },
      });
      for (const { id } of pending) this.enqueue(id);
    } catch (error) {
      this.deps.logger.warn({ err: error }, 'export sweep failed; will retry');
    }
  }

  private async run(id: string): Promise<void> {
    const { db, leases, logger } = this.deps;
    const lease = `export:${id}`;
    try {
      if (!(await leases.acquire(lease, LEASE_MS))) return; // another instance is on it
    } catch (error) {
      logger.warn({ err: error, exportId: id }, 'export lease unavailable; will retry');
      return;
    }
    let interrupted = false;
    try {
      const row = await db.prisma.export.findUnique({ where: { id } });
      if (!row || row.status !== 'PENDING' || row.expiresAt <= new Date()) return;
      await db.prisma.exportChunk.deleteMany({ where: { exportId: id } }); // an interrupted run's leftovers
      if (row.kind === 'AUDIT_LOG') await this.deps.audit.flush();
      const { rowCount, byteCount } = await produceExport(db, row, async () => !this.closed && (await leases.renew(lease, LEASE_MS)));
      await db.prisma.export.updateMany({
        where: { id, status: 'PENDING' },
        data: { status: 'READY', rowCount, byteCount, completedAt: new Date() },
      });
    } catch (error) {
      if (error instanceof ExportInterrupted) {
        interrupted = true;
        logger.info({ exportId: id }, 'export interrupted; it stays PENDING for the next run');
        return;
      }
      logger.error({ err: error, exportId: id }, 'export failed');
      await this.fail(id, error);
    } finally {
      await leases.release(lease).catch(() => undefined);
      if (interrupted) this.deps.pubsub.publish(RELEASED_CHANNEL, id);
    }
  }

  /** FAILED, without its partial file. If the database is down this fails too: the export stays PENDING and is retried. */
  private async fail(id: string, error: unknown): Promise<void> {
    const message = error instanceof Error ? error.message.slice(0, 500) : String(error);
    try {
      await this.deps.db.prisma.exportChunk.deleteMany({ where: { exportId: id } });
      await this.deps.db.prisma.export.updateMany({
        where: { id, status: 'PENDING' },
        data: { status: 'FAILED', error: message, completedAt: new Date() },
      });
    } catch (cause) {
      this.deps.logger.warn({ err: cause, exportId: id }, 'could not mark export FAILED; it stays PENDING');
    }
  }
}
