import os from 'node:os';
import type { HealthStatus, SystemStatus } from '../generated/graphql.js';
import { withTimeout } from '../kernel/withTimeout.js';
import type { Database } from '../db/database.js';
import type { RedisConnections } from '../messaging/redis.js';
import type { SystemMeters } from './meters.js';
import { diskReading, memoryReading, round } from './readings.js';
import { appVersion } from './versions.js';

export interface DependencyCheck {
  status: HealthStatus;
  /** Round trip of a ping in ms; null when down or not configured. */
  latencyMs: number | null;
}

/** Pings a dependency with the probes' timeout; an absent one (embedded mode) is OK with no latency. */
export async function checkDependency(ping: (() => Promise<number>) | undefined): Promise<DependencyCheck> {
  if (!ping) return { status: 'OK', latencyMs: null };
  try {
    return { status: 'OK', latencyMs: round(await withTimeout(ping())) };
  } catch {
    return { status: 'DOWN', latencyMs: null };
  }
}

export function pingDatabase(services: { db: Database }) {
  return checkDependency(() => services.db.ping());
}

export function pingRedis(services: { redis: RedisConnections | undefined }) {
  const redis = services.redis;
  return checkDependency(redis ? () => redis.ping() : undefined);
}

/** The instance's health: DOWN when the database does not answer, DEGRADED when Redis does not. */
export async function systemStatus(services: { db: Database; redis: RedisConnections | undefined }, meters: SystemMeters): Promise<SystemStatus> {
  const [database, cache, disk, cpuPercent] = await Promise.all([
    pingDatabase(services),
    pingRedis(services),
    diskReading(meters.dataDir),
    meters.cpu.current(),
  ]);
  return {
    status: database.status === 'DOWN' ? 'DOWN' : cache.status === 'DOWN' ? 'DEGRADED' : 'OK',
    version: appVersion(),
    uptimeSeconds: round(process.uptime()),
    cpu: { cores: os.cpus().length, usagePercent: cpuPercent, loadAverage: os.loadavg().map(round) },
    memory: memoryReading(),
    disk,
    eventLoopLagMs: meters.eventLoopLag.current(),
    database,
    cache,
  };
}
