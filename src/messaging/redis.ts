import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../observability/logger.js';

/** Reconnect with backoff, forever: Redis coming back must be picked up without a restart. */
const retryStrategy = (attempt: number) => Math.min(100 * 2 ** Math.min(attempt, 6), 5000);

export interface RedisConnections {
  /** Commands (rate limits, publish). Fails fast while disconnected, so callers fall back at once. */
  commands: Redis;
  /** A dedicated connection in subscriber mode. */
  subscriber: Redis;
  ping(): Promise<number>;
  close(): Promise<void>;
}

export function connectRedis(url: string, logger: Logger, connectTimeoutMs: number): RedisConnections {
  const base: RedisOptions = { retryStrategy, connectTimeout: connectTimeoutMs, maxRetriesPerRequest: 1, lazyConnect: false };
  const commands = new Redis(url, { ...base, enableOfflineQueue: false, connectionName: 'bastion' });
  // Subscriptions issued while disconnected wait for the connection instead of failing.
  // No ready check on the subscriber: its INFO command races with SUBSCRIBEs sent as the connection
  // opens, and once in subscriber mode the INFO is refused, failing the queued SUBSCRIBEs with it.
  const subscriber = new Redis(url, { ...base, enableOfflineQueue: true, enableReadyCheck: false, connectionName: 'bastion-sub' });
  let down = false;
  for (const [name, client] of [['commands', commands], ['subscriber', subscriber]] as const) {
    client.on('error', (error: Error) => {
      if (!down) logger.warn({ err: error, connection: name }, 'Redis connection error');
      down = true;
    });
    client.on('ready', () => {
      if (down) logger.info({ connection: name }, 'Redis connection restored');
      down = false;
    });
  }
  return {
    commands,
    subscriber,
    async ping() {
      const started = performance.now();
      await commands.ping();
      return performance.now() - started;
    },
    async close() {
      await Promise.allSettled([commands.quit(), subscriber.quit()]);
      commands.disconnect();
      subscriber.disconnect();
    },
  };
}
