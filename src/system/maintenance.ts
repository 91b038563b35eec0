import { randomUUID } from 'node:crypto';
import type { Config } from '../config/config.js';
import type { Database } from '../db/database.js';
import type { MaintenanceResult, MaintenanceTask } from '../generated/graphql.js';
import type { AuthState } from '../identity/authState.js';
import type { AccessTokens } from '../identity/tokens.js';
import type { PubSub } from '../messaging/pubsub.js';
import type { Logger } from '../observability/logger.js';
import type { SecurityEvents } from '../security/securityEvents.js';
import type { Sampler } from './sampler.js';

const DAY_MS = 24 * 3600 * 1000;
/** Rows deleted per statement: a long purge never holds one huge statement or transaction. */
const BATCH = 5000;
/** Asks every instance to clear its in-memory caches. */
const CLEAR_CACHES_CHANNEL = 'maintenance.clearCaches';

export interface MaintenanceDeps {
  config: Config;
  db: Database;
  pubsub: PubSub;
  logger: Logger;
  authState: AuthState;
  tokens: AccessTokens;
  security: SecurityEvents;
  sampler: Sampler;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * Deletes rows matching `where` in batches of ids; returns how many went. Each statement deletes
 * only what it found, so two runs at once (here or on another instance) split the work instead of
 * failing, and their counts add up to what was purged.
 */
async function deleteInBatches(
  find: (take: number) => Promise<Array<{ id: string }>>,
  remove: (ids: string[]) => Promise<{ count: number }>,
): Promise<number> {
  let total = 0;
  for (;;) {
    const ids = (await find(BATCH)).map((r) => r.id);
    if (ids.length === 0) return total;
    total += (await remove(ids)).count;
    if (ids.length < BATCH) return total;
  }
}

/** The contract's maintenance tasks. Each does real work and reports what it did and how long it took. */
export class Maintenance {
  private readonly instanceId = randomUUID();

  constructor(private readonly deps: MaintenanceDeps) {
    deps.pubsub.subscribe(CLEAR_CACHES_CHANNEL, (message) => {
      if ((message as { origin?: string }).origin !== this.instanceId) this.clearLocalCaches();
    });
  }

  async run(task: MaintenanceTask): Promise<MaintenanceResult> {
    const started = performance.now();
    let ok = true;
    let detail: string;
    try {
      detail = await this.perform(task);
    } catch (error) {
      this.deps.logger.error({ err: error, task }, 'maintenance task failed');
      ok = false;
      detail = `${task} failed; the server log has the details`;
    }
    return { task, ok, detail, durationMs: Math.round((performance.now() - started) * 100) / 100 };
  }

  private async perform(task: MaintenanceTask): Promise<string> {
    switch (task) {
      case 'PURGE_EXPIRED_SESSIONS':
        return `purged ${plural(await this.purgeExpiredSessions(), 'expired session')}`;
      case 'PURGE_EXPIRED_EXPORTS': {
        const { exports, chunks } = await this.purgeExpiredExports();
        return `purged ${plural(exports, 'expired export')} and ${plural(chunks, 'file chunk')}`;
      }
      case 'PURGE_OLD_AUDIT':
        return `purged ${plural(await this.purgeOldAudit(), 'audit event')} older than ${plural(this.deps.config.auditRetentionDays, 'day')}`;
      case 'PURGE_OLD_METRICS':
        return `purged ${plural(await this.deps.sampler.prune(), 'metric sample')} older than ${plural(this.deps.config.metricsRetentionDays, 'day')}`;
      case 'CLEAR_CACHES': {
        const { authEntries, blocks } = this.clearLocalCaches();
        this.deps.pubsub.publish(CLEAR_CACHES_CHANNEL, { origin: this.instanceId });
        return `cleared ${plural(authEntries, 'cached item')} and ${plural(blocks, 'IP block')}; other instances were asked to clear theirs`;
      }
    }
  }

  /** Sessions past their expiry; their refresh tokens go with them (cascade). */
  private purgeExpiredSessions(): Promise<number> {
    const { session } = this.deps.db.prisma;
    const where = { expiresAt: { lt: new Date() } };
    return deleteInBatches(
      (take) => session.findMany({ where, select: { id: true }, take }),
      (ids) => session.deleteMany({ where: { id: { in: ids } } }),
    );
  }

  /** Exports past their expiry, with their file chunks. */
  private async purgeExpiredExports(): Promise<{ exports: number; chunks: number }> {
    const { prisma } = this.deps.db;
    const where = { expiresAt: { lt: new Date() } };
    let chunks = 0;
    const exports = await deleteInBatches(
      (take) => prisma.export.findMany({ where, select: { id: true }, take }),
      async (ids) => {
        const [removedChunks, removedExports] = await prisma.$transaction([
          prisma.exportChunk.deleteMany({ where: { exportId: { in: ids } } }),
          prisma.export.deleteMany({ where: { id: { in: ids } } }),
        ]);
        chunks += removedChunks.count;
        return removedExports;
      },
    );
    return { exports, chunks };
  }

  private purgeOldAudit(): Promise<number> {
    const { auditEvent } = this.deps.db.prisma;
    const where = { createdAt: { lt: new Date(Date.now() - this.deps.config.auditRetentionDays * DAY_MS) } };
    return deleteInBatches(
      (take) => auditEvent.findMany({ where, select: { id: true }, take }),
      (ids) => auditEvent.deleteMany({ where: { id: { in: ids } } }),
    );
  }

  /** In-memory state: the session/user cache refills from the database; IP blocks are lifted. */
  private clearLocalCaches(): { authEntries: number; blocks: number } {
    const authEntries = this.deps.authState.clear() + this.deps.tokens.clear();
    return { authEntries, blocks: this.deps.security.clearBlocks() };
  }
}
