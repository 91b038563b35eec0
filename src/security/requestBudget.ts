import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { RequestInfo } from '../kernel/requestIdentity.js';
import type { LimiterStore } from './limiterStore.js';
import { isLimiterRejection, retryAfterSeconds } from './limiterStore.js';
import type { MeasuredLimits } from './measuredLimits.js';
import type { SecurityEvents } from './securityEvents.js';

export interface BudgetState {
  /** Undefined while within the budget; else seconds until one more operation is allowed. */
  retryAfter?: number;
  limit: number;
  remaining: number;
  resetSeconds: number;
}

/**
 * The overall per-key budget on every operation, HTTP request or WebSocket subscribe alike
 * (RATE_LIMIT_PER_MINUTE; 0 turns it off), keyed by user id when signed in, else client IP.
 * Transport-neutral: each transport turns the state into its own answer. In measure mode
 * (LIMIT_MODES=budget=measure) an operation over the budget is let through, counted and logged
 * once per key; it is no security event, as nothing was refused.
 */
export class RequestBudget {
  private readonly limiter: RateLimiterAbstract | undefined;

  constructor(
    private readonly perMinute: number,
    store: LimiterStore,
    private readonly security: SecurityEvents,
    private readonly measured: MeasuredLimits,
  ) {
    this.limiter = perMinute > 0 ? store.create({ keyPrefix: 'http', points: perMinute, durationSeconds: 60 }) : undefined;
  }

  /** Spends one operation of the key; undefined when the budget is off. */
  async spend(request: RequestInfo, viewer: { id: string } | null, transport: 'http' | 'ws'): Promise<BudgetState | undefined> {
    if (!this.limiter) return undefined;
    const key = viewer ? `u:${viewer.id}` : `ip:${request.ip}`;
    try {
      const state = await this.limiter.consume(key);
      return { limit: this.perMinute, remaining: Math.max(0, state.remainingPoints), resetSeconds: retryAfterSeconds(state.msBeforeNext) };
    } catch (rejection) {
      if (!isLimiterRejection(rejection)) throw rejection;
      const retryAfter = retryAfterSeconds(rejection.msBeforeNext);
      if (this.measured.modes.budget === 'measure') {
        this.measured.report('budget', { key }, rejection.consumedPoints, this.perMinute);
        return { limit: this.perMinute, remaining: 0, resetSeconds: retryAfter };
      }
      this.security.rateLimited({ ...request, viewer }, transport);
      return { retryAfter, limit: this.perMinute, remaining: 0, resetSeconds: retryAfter };
    }
  }
}
