import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { ErrorCode } from '../errors.js';
import { sendError } from '../http/server.js';
import type { LimiterStore } from './limiterStore.js';
import { isLimiterRejection, retryAfterSeconds } from './limiterStore.js';
import type { SecurityEvents } from './securityEvents.js';

/**
 * The overall per-key limit on every request (RATE_LIMIT_PER_MINUTE; 0 turns it off), keyed by
 * user id when signed in, else client IP. Answers 429 with standard RateLimit-* headers.
 */
export class HttpRateLimit {
  private readonly limiter: RateLimiterAbstract | undefined;

  constructor(
    private readonly perMinute: number,
    store: LimiterStore,
    private readonly security: SecurityEvents,
  ) {
    this.limiter = perMinute > 0 ? store.create({ keyPrefix: 'http', points: perMinute, durationSeconds: 60 }) : undefined;
  }

  /** Consumes one request for the key; replies 429 (and returns the reply) when over the limit. */
  async check(request: FastifyRequest, reply: FastifyReply, userId: string | null): Promise<FastifyReply | undefined> {
    if (!this.limiter) return undefined;
    const key = userId ? `u:${userId}` : `ip:${request.ip}`;
    try {
      const state = await this.limiter.consume(key);
      this.setHeaders(reply, state.remainingPoints, state.msBeforeNext);
      return undefined;
    } catch (rejection) {
      if (!isLimiterRejection(rejection)) throw rejection;
      const retryAfter = retryAfterSeconds(rejection.msBeforeNext);
      this.setHeaders(reply, 0, rejection.msBeforeNext);
      reply.header('retry-after', String(retryAfter));
      this.security.rateLimited({ requestId: request.id, ip: request.ip, userAgent: undefined, viewer: request.viewer }, 'http');
      return sendError(reply, 429, ErrorCode.RATE_LIMITED, `too many requests, retry in ${retryAfter} s`, { retryAfter });
    }
  }

  private setHeaders(reply: FastifyReply, remaining: number, msBeforeNext: number): void {
    reply.header('ratelimit-limit', String(this.perMinute));
    reply.header('ratelimit-remaining', String(Math.max(0, remaining)));
    reply.header('ratelimit-reset', String(retryAfterSeconds(msBeforeNext)));
  }
}
