import type { RedisConnections } from '../messaging/redis.js';
import type { Logger } from '../observability/logger.js';
import type { AlertService } from './alerts.js';

export const REDIS_DOWN = 'REDIS_DOWN';

/**
 * Raises REDIS_DOWN the moment the Redis connection fails, and resolves it (noted AUTO) when the
 * connection is back: the connection's own events, not the next sample, so an outage shows at once.
 * The server keeps serving on in-process fallbacks meanwhile, hence a WARNING. Returns a stop function.
 */
export function watchRedis(redis: RedisConnections, alerts: AlertService, logger: Logger): () => void {
  let down = false;
  // Raise and resolve in order, so a quick recovery cannot overtake the raise it answers.
  let pending = Promise.resolve();
  const then = (step: () => Promise<unknown>) => {
    pending = pending.then(step).then(
      () => undefined,
      (error: unknown) => logger.error({ err: error }, 'could not update the REDIS_DOWN alert'),
    );
  };
  const onError = (error: Error) => {
    if (down) return;
    down = true;
    then(() =>
      alerts.raise({
        severity: 'WARNING',
        kind: REDIS_DOWN,
        message: `Redis does not answer (${error.message}); rate limits and pub/sub fall back to each instance alone`,
      }),
    );
  };
  const onReady = () => {
    if (!down) return;
    down = false;
    then(() => alerts.resolveAutomatically(REDIS_DOWN));
  };
  redis.commands.on('error', onError);
  redis.commands.on('ready', onReady);
  return () => {
    redis.commands.off('error', onError);
    redis.commands.off('ready', onReady);
  };
}
