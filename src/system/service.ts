import { randomUUID } from 'node:crypto';
import { resolveRange } from '../kernel/timeRange.js';
import type { Diagnostics, MaintenanceResult, MaintenanceTask, SystemStatus, TimeRangeInput } from '../generated/graphql.js';
import type { MetricSample } from '../db/models.js';
import type { Config } from '../config/config.js';
import type { Database } from '../db/database.js';
import type { AuthState } from '../identity/authState.js';
import type { AccessTokens } from '../identity/tokens.js';
import type { PubSub } from '../messaging/pubsub.js';
import type { RedisConnections } from '../messaging/redis.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { RecentErrors } from '../observability/recentErrors.js';
import type { SecurityEvents } from '../security/securityEvents.js';
import type { AlertService } from './alerts.js';
import { AlertEngine } from './alertEngine.js';
import { diagnostics } from './diagnostics.js';
import { Maintenance } from './maintenance.js';
import { SystemMeters } from './meters.js';
import { watchRedis } from './redisAlert.js';
import { Sampler, type SystemMetricsPayload } from './sampler.js';
import { systemStatus } from './status.js';

/** Most samples one history answer holds (a day at the default 15 s interval is 5,760). */
const MAX_HISTORY = 10_000;

/** What the system domain uses. */
export interface SystemDeps {
  config: Config;
  db: Database;
  redis: RedisConnections | undefined;
  pubsub: PubSub;
  logger: Logger;
  metrics: Metrics;
  recentErrors: RecentErrors;
  alerts: AlertService;
  authState: AuthState;
  tokens: AccessTokens;
  security: SecurityEvents;
}

/**
 * The system domain: status, metrics history and stream, diagnostics and maintenance, plus the
 * background sampler that feeds the history and the alert rules, and the Redis outage alert.
 */
export class SystemService {
  private readonly meters: SystemMeters;
  private readonly sampler: Sampler;
  private readonly maintenance: Maintenance;
  private unwatchRedis: (() => void) | undefined;

  constructor(private readonly services: SystemDeps) {
    const { config, db, pubsub, logger, metrics, alerts } = services;
    this.meters = new SystemMeters(metrics, config.dataDir);
    this.sampler = new Sampler({
      db,
      pubsub,
      logger,
      meters: this.meters,
      engine: new AlertEngine(alerts, config.alertThresholds),
      instanceId: randomUUID(),
      intervalSeconds: config.sampleIntervalSeconds,
      retentionDays: config.metricsRetentionDays,
    });
    this.maintenance = new Maintenance({ ...services, sampler: this.sampler });
  }

  /** Starts the sampler (timers unref'd: they never keep the process alive). */
  start(): void {
    this.sampler.start();
    const { redis, alerts, logger } = this.services;
    if (redis) this.unwatchRedis = watchRedis(redis, alerts, logger);
  }

  /** Stops background work; call before the database closes. */
  async stop(): Promise<void> {
    this.unwatchRedis?.();
    await this.sampler.stop();
    this.meters.stop();
  }

  status(): Promise<SystemStatus> {
    return systemStatus(this.services, this.meters);
  }

  /** Samples in [from, to), oldest first; the newest MAX_HISTORY when the range holds more. */
  async history(range: TimeRangeInput): Promise<MetricSample[]> {
    const { from, to } = resolveRange(range);
    const newest = await this.services.db.prisma.metricSample.findMany({
      where: { t: { gte: from, lt: to } },
      orderBy: [{ t: 'desc' }, { id: 'desc' }],
      take: MAX_HISTORY,
    });
    return newest.reverse();
  }

  metricsStream(): AsyncIterableIterator<SystemMetricsPayload> {
    return this.sampler.subscribe();
  }

  diagnostics(): Promise<Diagnostics> {
    return diagnostics(this.services, this.services.alerts.webhook);
  }

  runMaintenance(task: MaintenanceTask): Promise<MaintenanceResult> {
    return this.maintenance.run(task);
  }
}
