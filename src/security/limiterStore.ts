import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, type RateLimiterAbstract } from 'rate-limiter-flexible';

/**
 * Makes rate limiters: in-process by default; in Redis when configured, shared by every
 * instance, with an in-process insurance limiter that takes over while Redis is unreachable.
 */
export interface LimiterStore {
  create(options: { keyPrefix: string; points: number; durationSeconds: number; blockSeconds?: number }): RateLimiterAbstract;
}

export function createLimiterStore(redis: Redis | undefined, redisPrefix: string): LimiterStore {
  return {
    create({ keyPrefix, points, durationSeconds, blockSeconds }) {
      const base = { keyPrefix, points, duration: durationSeconds, blockDuration: blockSeconds ?? 0 };
      if (!redis) return new RateLimiterMemory(base);
      return new RateLimiterRedis({
        ...base,
        keyPrefix: `${redisPrefix}rl:${keyPrefix}`,
        storeClient: redis,
        // Fail over to memory at once instead of queueing behind a dead connection.
        rejectIfRedisNotReady: true,
        insuranceLimiter: new RateLimiterMemory(base),
      });
    },
  };
}

/** rate-limiter-flexible rejects with a result object, or with an Error when the store failed. */
export function isLimiterRejection(value: unknown): value is { msBeforeNext: number; remainingPoints: number; consumedPoints: number } {
  return typeof value === 'object' && value !== null && 'msBeforeNext' in value && !(value instanceof Error);
}

export function retryAfterSeconds(msBeforeNext: number): number {
  return Math.max(1, Math.ceil(msBeforeNext / 1000));
}
