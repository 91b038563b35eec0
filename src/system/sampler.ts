import type { Database } from '../db/database.js';
import { Leases } from '../db/leases.js';
import type { MetricSample } from '../db/models.js';
import type { PubSub } from '../messaging/pubsub.js';
import type { Logger } from '../observability/logger.js';
import type { AlertEngine } from './alertEngine.js';
import type { SystemMeters } from './meters.js';

/** New samples, shaped as the `systemMetrics` subscription's payload. */
export const SYSTEM_METRICS_CHANNEL = 'system.metrics';

export interface SystemMetricsPayload {
  systemMetrics: MetricSample;
}

const LEASE = 'system.sampler';
const DAY_MS = 24 * 3600 * 1000;
/** Samples past retention are deleted this often (PURGE_OLD_METRICS does it on demand). */
const PRUNE_EVERY_MS = 3600 * 1000;

export interface SamplerOptions {
  db: Database;
  pubsub: PubSub;
  logger: Logger;
  meters: SystemMeters;
  engine: AlertEngine;
  /** This instance, as the lease holder. */
  instanceId: string;
  intervalSeconds: number;
  retentionDays: number;
}

/**
 * Every interval each instance closes its meters' window (so its own systemStatus stays current);
 * the one instance holding the sampler lease also stores the sample, streams it to `systemMetrics`
 * subscribers (on every instance through pub/sub) and runs the alert rules on it. One writer keeps
 * the history a single series and stops instances from resolving each other's alerts. If the holder
 * dies, another takes over when the lease expires (three intervals).
 */
export class Sampler {
  private readonly leases: Leases;
  private readonly leaseMs: number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private leading = false;
  private lastPrune = 0;

  constructor(private readonly options: SamplerOptions) {
    this.leases = new Leases(options.db, options.instanceId);
    this.leaseMs = options.intervalSeconds * 3000;
  }

  start(): void {
    this.timer = setInterval(() => {
      // A slow tick (database under load) is not stacked with the next one.
      this.running ??= this.tick().finally(() => (this.running = undefined));
    }, this.options.intervalSeconds * 1000);
    this.timer.unref();
  }

  /** Stops sampling and hands the lease over; call before the database closes. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
    if (this.leading) await this.leases.release(LEASE).catch(() => undefined);
    this.leading = false;
  }

  /** The `systemMetrics` stream. */
  subscribe(): AsyncIterableIterator<SystemMetricsPayload> {
    return this.options.pubsub.iterate<SystemMetricsPayload>(SYSTEM_METRICS_CHANNEL);
  }

  /** Deletes samples older than the retention; returns how many. */
  async prune(): Promise<number> {
    const cutoff = new Date(Date.now() - this.options.retentionDays * DAY_MS);
    const { count } = await this.options.db.prisma.metricSample.deleteMany({ where: { t: { lt: cutoff } } });
    return count;
  }

  private async tick(): Promise<void> {
    const { db, pubsub, logger, meters, engine } = this.options;
    try {
      const readings = await meters.measure();
      if (!(await this.lead())) return;
      const sample = await db.prisma.metricSample.create({
        data: {
          cpuPercent: readings.cpuPercent,
          memoryPercent: readings.memoryPercent,
          eventLoopLagMs: readings.eventLoopLagMs,
          requestsPerSecond: readings.requestsPerSecond,
          errorRate: readings.errorRate,
        },
      });
      pubsub.publish(SYSTEM_METRICS_CHANNEL, { systemMetrics: sample } satisfies SystemMetricsPayload);
      await engine.evaluate(readings);
      if (Date.now() - this.lastPrune >= PRUNE_EVERY_MS) {
        this.lastPrune = Date.now();
        await this.prune();
      }
    } catch (error) {
      logger.warn({ err: error }, 'system sampling failed; will retry next interval');
    }
  }

  /** Renews the lease this instance holds, or tries to take it. */
  private async lead(): Promise<boolean> {
    this.leading = (this.leading && (await this.leases.renew(LEASE, this.leaseMs))) || (await this.leases.acquire(LEASE, this.leaseMs));
    return this.leading;
  }
}
