import type { AuditLog } from '../observability/auditLog.js';
import type { RequestInfo } from '../kernel/requestIdentity.js';
import type { PubSub } from '../messaging/pubsub.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics, SECURITY_EVENT_TYPES } from '../observability/metrics.js';
import type { LimiterStore } from './limiterStore.js';
import { isLimiterRejection } from './limiterStore.js';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';

/** The metric's label values are declared with the metric, so each series starts at 0. */
export type SecurityEventType = (typeof SECURITY_EVENT_TYPES)[number];

/** Window and block time of the automatic IP block. */
const AUTO_BLOCK_WINDOW_SECONDS = 5 * 60;
const AUTO_BLOCK_SECONDS = 15 * 60;
const BLOCKED_CHANNEL = 'security.blocked';

export interface SecurityEventsOptions {
  audit: AuditLog;
  metrics: Metrics;
  store: LimiterStore;
  pubsub: PubSub;
  logger: Logger;
  /** Security events per IP within 5 minutes that block it for 15 minutes; 0 turns blocking off. */
  autoBlockThreshold: number;
  /** Raises an alert (the alert service dedupes by kind). */
  raiseAlert: (alert: { severity: 'INFO' | 'WARNING' | 'CRITICAL'; kind: string; message: string; value?: number }) => void;
}

/**
 * One place where denials, invalid tokens, rate-limit hits and failed logins are counted:
 * Prometheus counters, the audit log (aggregated under a flood), and the automatic IP block.
 */
export class SecurityEvents {
  private readonly counter: RateLimiterAbstract | undefined;
  /** Blocked IPs → unblock time (ms). Shared across instances through pub/sub. */
  private readonly blocked = new Map<string, number>();

  constructor(private readonly options: SecurityEventsOptions) {
    if (options.autoBlockThreshold > 0) {
      this.counter = options.store.create({
        keyPrefix: 'securityEvents',
        points: options.autoBlockThreshold,
        durationSeconds: AUTO_BLOCK_WINDOW_SECONDS,
      });
      options.pubsub.subscribe(BLOCKED_CHANNEL, (message) => {
        const { ip, until } = message as { ip: string; until: number };
        this.blocked.set(ip, until);
      });
    }
  }

  denied(request: RequestInfo & { viewer?: { id: string } | null }, coordinate: string, code: string): void {
    this.options.audit.recordAggregated({
      action: 'accessDenied',
      outcome: 'DENIED',
      actorId: request.viewer?.id,
      targetType: 'Field',
      targetId: coordinate,
      ip: request.ip,
      requestId: request.requestId,
      code,
      detail: { code },
    });
    this.count(request, 'denied');
  }

  rateLimited(request: RequestInfo & { viewer?: { id: string } | null }, limit: string): void {
    this.options.metrics.rateLimitRejections.inc({ limit });
    this.options.audit.recordAggregated({
      action: 'rateLimited',
      outcome: 'DENIED',
      actorId: request.viewer?.id,
      targetType: 'Limit',
      targetId: limit,
      ip: request.ip,
      requestId: request.requestId,
    });
    this.count(request, 'rate_limited');
  }

  invalidToken(request: RequestInfo, reason: string): void {
    this.options.metrics.authEvents.inc({ event: 'token', result: 'invalid' });
    this.options.audit.recordAggregated({
      action: 'invalidToken',
      outcome: 'DENIED',
      ip: request.ip,
      requestId: request.requestId,
      detail: { reason },
    });
    this.count(request, 'invalid_token');
  }

  /** The audit row of a failed login is written by the mutation audit; this counts it. */
  loginFailed(request: RequestInfo): void {
    this.options.metrics.authEvents.inc({ event: 'login', result: 'failure' });
    this.count(request, 'failed_login');
  }

  tokenReplayed(request: RequestInfo, userId: string, sessionId: string): void {
    this.options.metrics.authEvents.inc({ event: 'refresh', result: 'replay' });
    this.options.audit.record({
      action: 'refreshTokenReplay',
      outcome: 'DENIED',
      actorId: userId,
      targetType: 'Session',
      targetId: sessionId,
      ip: request.ip,
      requestId: request.requestId,
    });
    this.count(request, 'token_replay');
    this.options.raiseAlert({
      severity: 'CRITICAL',
      kind: 'TOKEN_REPLAY',
      message: `a retired refresh token was presented again; session ${sessionId} revoked`,
    });
  }

  /** Whether requests from this IP are refused (auto-blocked). Cheap: a local map. */
  isBlocked(ip: string): boolean {
    const until = this.blocked.get(ip);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.blocked.delete(ip);
    return false;
  }

  /** Forget every block (maintenance CLEAR_CACHES). Returns how many were lifted. */
  clearBlocks(): number {
    const count = this.blocked.size;
    this.blocked.clear();
    return count;
  }

  private count(request: RequestInfo, type: SecurityEventType): void {
    this.options.metrics.securityEvents.inc({ type });
    if (!this.counter || this.isBlocked(request.ip)) return;
    this.counter.consume(request.ip).catch((rejection: unknown) => {
      if (!isLimiterRejection(rejection)) {
        this.options.logger.warn({ err: rejection }, 'security event counter failed');
        return;
      }
      const until = Date.now() + AUTO_BLOCK_SECONDS * 1000;
      this.blocked.set(request.ip, until);
      this.options.pubsub.publish(BLOCKED_CHANNEL, { ip: request.ip, until });
      this.options.logger.warn({ ip: request.ip }, 'IP blocked after too many security events');
      this.options.raiseAlert({
        severity: 'WARNING',
        kind: 'AUTO_BLOCK',
        message: `IP ${request.ip} blocked for ${AUTO_BLOCK_SECONDS / 60} minutes after ${this.options.autoBlockThreshold} security events`,
        value: this.options.autoBlockThreshold,
      });
    });
  }
}
