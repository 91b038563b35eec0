import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/config.js';
import { withTimeout } from '../kernel/withTimeout.js';
import type { Database } from '../db/database.js';
import type { RedisConnections } from '../messaging/redis.js';
import type { Metrics } from '../observability/metrics.js';
import type { SecurityEvents } from '../security/securityEvents.js';

/**
 * GET /health (liveness) and GET /ready (readiness). Readiness is 503 when the database does not
 * answer. A Redis outage reports "degraded" with 200: the server keeps serving on its in-process
 * fallbacks, and taking every instance out of the balancer at once would turn it into an outage.
 */
export function registerProbes(app: FastifyInstance, { db, redis }: { db: Pick<Database, 'ping'>; redis?: Pick<RedisConnections, 'ping'> }): void {
  app.get('/health', async () => ({ status: 'ok' }));

  app.get('/ready', async (_request, reply) => {
    const database = await withTimeout(db.ping()).then(
      () => 'ok' as const,
      () => 'down' as const,
    );
    const redisStatus = redis
      ? await withTimeout(redis.ping()).then(
          () => 'ok' as const,
          () => 'down' as const,
        )
      : undefined;
    const status = database === 'down' ? 'unavailable' : redisStatus === 'down' ? 'degraded' : 'ok';
    return reply.code(database === 'down' ? 503 : 200).send({ status, database, ...(redisStatus ? { redis: redisStatus } : {}) });
  });
}

/** SHA-256 of a header value: equal-length digests, so the comparison time says nothing about the token, its length included. */
function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * GET /metrics in Prometheus text format; with METRICS_TOKEN set it requires that bearer token.
 * A missing or wrong token is a security event (an invalid token), so guessing runs into the
 * automatic IP block like any other credential guessing.
 */
export function registerMetricsRoute(
  app: FastifyInstance,
  config: Pick<Config, 'metricsToken'>,
  { metrics, security }: { metrics: Pick<Metrics, 'registry'>; security: Pick<SecurityEvents, 'invalidToken'> },
): void {
  const expected = config.metricsToken ? digest(`Bearer ${config.metricsToken}`) : undefined;
  app.get('/metrics', async (request, reply) => {
    if (expected && !timingSafeEqual(digest(request.headers.authorization ?? ''), expected)) {
      security.invalidToken({ requestId: request.id, ip: request.ip, userAgent: request.headers['user-agent'] }, 'metrics');
      return reply.code(401).header('www-authenticate', 'Bearer realm="metrics"').send({ error: 'unauthorized' });
    }
    const { registry } = metrics;
    return reply.type(registry.contentType).send(await registry.metrics());
  });
}
