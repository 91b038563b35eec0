import { randomUUID } from 'node:crypto';
import type { Config } from '../config/config.js';
import type { Database } from '../db/database.js';
import { purgeOldAudit } from '../audit/purge.js';
import { purgeExpiredExports } from '../exports/purge.js';
import type { MaintenanceResult, MaintenanceTask } from '../generated/graphql.js';
import { purgeExpiredSessions } from '../identity/sessionPurge.js';
import type { AuthState } from '../identity/authState.js';
import type { AccessTokens } from '../identity/tokens.js';
import type { PubSub } from '../messaging/pubsub.js';
import type { Logger } from '../observability/logger.js';
import type { SecurityEvents } from '../security/securityEvents.js';
import type { Sampler } from './sampler.js';

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
 * The contract's maintenance tasks, each done by the domain that owns the data (sessions, exports,
 * audit events, metric samples) and reported with what it did and how long it took.
 */
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
        return `purged ${plural(await purgeExpiredSessions(this.deps.db), 'expired session')}`;
      case 'PURGE_EXPIRED_EXPORTS': {
        const { exports, chunks } = await purgeExpiredExports(this.deps.db);
        return `purged ${plural(exports, 'expired export')} and ${plural(chunks, 'file chunk')}`;
      }
      case 'PURGE_OLD_AUDIT':
        return `purged ${plural(await purgeOldAudit(this.deps.db, this.deps.config.auditRetentionDays), 'audit event')} older than ${plural(this.deps.config.auditRetentionDays, 'day')}`;
      case 'PURGE_OLD_METRICS':
        return `purged ${plural(await this.deps.sampler.prune(), 'metric sample')} older than ${plural(this.deps.config.metricsRetentionDays, 'day')}`;
      case 'CLEAR_CACHES': {
        const { authEntries, blocks } = this.clearLocalCaches();
        this.deps.pubsub.publish(CLEAR_CACHES_CHANNEL, { origin: this.instanceId });
        return `cleared ${plural(authEntries, 'cached item')} and ${plural(blocks, 'IP block')}; other instances were asked to clear theirs`;
      }
    }
  }

  /** In-memory state: the session/user cache refills from the database; IP blocks are lifted. */
  private clearLocalCaches(): { authEntries: number; blocks: number } {
    const authEntries = this.deps.authState.clear() + this.deps.tokens.clear();
    return { authEntries, blocks: this.deps.security.clearBlocks() };
  }
}
