import type { Database } from '../db/database.js';
import { isUniqueViolation } from '../db/errors.js';
import { badInput, conflict, notFound } from '../errors.js';
import type { AlertFilter, AlertSeverity } from '../generated/graphql.js';
import type { Alert } from '../db/models.js';
import { NEWEST_FIRST, pageSize } from '../kernel/pagination.js';
import type { PubSub } from '../messaging/pubsub.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { AlertWebhook } from './alertWebhook.js';

/** New alerts, shaped as the `alertRaised` subscription's payload. */
export const ALERT_RAISED_CHANNEL = 'alerts.raised';

export interface AlertRaisedPayload {
  alertRaised: Alert;
}

const SEVERITY_RANK: Record<AlertSeverity, number> = { INFO: 0, WARNING: 1, CRITICAL: 2 };

function atLeast(min: AlertSeverity): AlertSeverity[] {
  return (Object.keys(SEVERITY_RANK) as AlertSeverity[]).filter((s) => SEVERITY_RANK[s] >= SEVERITY_RANK[min]);
}

export interface NewAlert {
  severity: AlertSeverity;
  kind: string;
  message: string;
  value?: number | null;
  threshold?: number | null;
}

const KIND = /^[A-Za-z0-9_]{1,64}$/;
const MAX_MESSAGE = 1000;

/** How an alert was resolved: by a person, or by the engine when the value went back to normal. */
export const RESOLVED_BY_USER = 'MANUAL';
export const RESOLVED_AUTOMATICALLY = 'AUTO';

export interface AlertServiceDeps {
  db: Database;
  pubsub: PubSub;
  metrics: Metrics;
  logger: Logger;
  /** ALERT_WEBHOOK_URL: every new alert is POSTed there. */
  webhookUrl: string | undefined;
}

/**
 * Alerts: at most one unresolved (OPEN or ACKNOWLEDGED) alert per kind, across every instance,
 * held by the unique `openKey` column (set to the kind until the alert is resolved). A new alert
 * is counted, published to `alertRaised` subscribers and sent to the webhook.
 */
export class AlertService {
  readonly webhook: AlertWebhook | undefined;

  constructor(private readonly deps: AlertServiceDeps) {
    this.webhook = deps.webhookUrl ? new AlertWebhook(deps.webhookUrl, deps.logger) : undefined;
  }

  /** Stops webhook deliveries still retrying (the alerts themselves are stored). */
  async close(): Promise<void> {
    await this.webhook?.close();
  }

  /** Raises an alert unless one of its kind is unresolved; then returns that one with `created: false`. */
  async raise(input: NewAlert): Promise<{ alert: Alert; created: boolean }> {
    const { prisma } = this.deps.db;
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        const alert = await prisma.alert.create({
          data: {
            severity: input.severity,
            kind: input.kind,
            message: input.message.slice(0, MAX_MESSAGE),
            value: input.value ?? null,
            threshold: input.threshold ?? null,
            openKey: input.kind,
          },
        });
        this.announce(alert);
        return { alert, created: true };
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
      }
      const open = await prisma.alert.findUnique({ where: { openKey: input.kind } });
      if (open) return { alert: open, created: false };
      // Resolved between the two statements: try again.
    }
    throw new Error(`could neither raise nor find an unresolved ${input.kind} alert`);
  }

  /** For callers that must not wait or fail (security events): errors are logged. */
  raiseInBackground(input: NewAlert): void {
    this.raise(input).catch((error: unknown) => this.deps.logger.error({ err: error, kind: input.kind }, 'could not raise an alert'));
  }

  /** `raiseAlert`: a manual alert; CONFLICT when one of its kind is still unresolved. */
  async raiseManual(input: NewAlert): Promise<Alert> {
    if (!KIND.test(input.kind)) throw badInput('kind', 'must be 1 to 64 letters, digits or _');
    if (input.message.trim().length === 0 || input.message.length > MAX_MESSAGE) {
      throw badInput('message', `must be 1 to ${MAX_MESSAGE} characters`);
    }
    const { alert, created } = await this.raise({ severity: input.severity, kind: input.kind, message: input.message });
    if (!created) throw conflict(`an alert of kind ${input.kind} is already open (${alert.id})`, 'kind');
    return alert;
  }

  async acknowledge(id: string, userId: string): Promise<Alert> {
    await this.deps.db.prisma.alert.updateMany({
      where: { id, status: 'OPEN' },
      data: { status: 'ACKNOWLEDGED', acknowledgedAt: new Date(), acknowledgedBy: userId },
    });
    return this.get(id);
  }

  async resolve(id: string, userId: string): Promise<Alert> {
    await this.deps.db.prisma.alert.updateMany({
      where: { id, status: { in: ['OPEN', 'ACKNOWLEDGED'] } },
      data: { status: 'RESOLVED', openKey: null, resolvedAt: new Date(), resolvedBy: userId, resolution: RESOLVED_BY_USER },
    });
    return this.get(id);
  }

  /** Resolves the unresolved alert of this kind, if any, noting that it resolved itself. */
  async resolveAutomatically(kind: string): Promise<boolean> {
    const { count } = await this.deps.db.prisma.alert.updateMany({
      where: { openKey: kind },
      data: { status: 'RESOLVED', openKey: null, resolvedAt: new Date(), resolution: RESOLVED_AUTOMATICALLY },
    });
    return count > 0;
  }

  /** Which of these kinds have an unresolved alert. */
  async unresolvedKinds(kinds: readonly string[]): Promise<Set<string>> {
    const rows = await this.deps.db.prisma.alert.findMany({ where: { openKey: { in: [...kinds] } }, select: { kind: true } });
    return new Set(rows.map((r) => r.kind));
  }

  /** Newest first. */
  async list(first: number | null | undefined, filter: AlertFilter | null | undefined): Promise<Alert[]> {
    return this.deps.db.prisma.alert.findMany({
      where: {
        ...(filter?.status ? { status: filter.status } : {}),
        ...(filter?.minSeverity ? { severity: { in: atLeast(filter.minSeverity) } } : {}),
      },
      orderBy: NEWEST_FIRST,
      take: pageSize(first),
    });
  }

  /** The `alertRaised` stream: new alerts at or above `minSeverity`. */
  subscribe(minSeverity: AlertSeverity): AsyncIterableIterator<AlertRaisedPayload> {
    const wanted = new Set(atLeast(minSeverity));
    return this.deps.pubsub.iterate<AlertRaisedPayload>(ALERT_RAISED_CHANNEL, (m) => wanted.has(m.alertRaised.severity as AlertSeverity));
  }

  private async get(id: string): Promise<Alert> {
    const alert = await this.deps.db.prisma.alert.findUnique({ where: { id } });
    if (!alert) throw notFound('alert');
    return alert;
  }

  private announce(alert: Alert): void {
    this.deps.metrics.alerts.inc({ severity: alert.severity });
    this.deps.pubsub.publish(ALERT_RAISED_CHANNEL, { alertRaised: alert } satisfies AlertRaisedPayload);
    this.webhook?.deliver(alert);
    this.deps.logger.warn({ alert: { id: alert.id, severity: alert.severity, kind: alert.kind } }, 'alert raised');
  }
}
