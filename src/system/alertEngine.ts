import type { Config } from '../config/config.js';
import type { AlertSeverity } from '../generated/graphql.js';
import type { AlertService } from './alerts.js';
import type { Readings } from './meters.js';

/** An alert resolves itself once its value is back at or below this share of the threshold. */
export const RESOLVE_RATIO = 0.9;

interface Rule {
  kind: string;
  severity: AlertSeverity;
  threshold: number;
  value(readings: Readings): number;
  describe(value: number, threshold: number): string;
}

const percent = (what: string) => (value: number, threshold: number) => `${what} at ${value}% is above ${threshold}%`;

function rules(t: Config['alertThresholds']): Rule[] {
  return [
    { kind: 'CPU', severity: 'WARNING', threshold: t.cpuPercent, value: (r) => r.cpuPercent, describe: percent('CPU usage') },
    { kind: 'MEMORY', severity: 'WARNING', threshold: t.memoryPercent, value: (r) => r.memoryPercent, describe: percent('memory usage') },
    // A full disk stops the database.
    { kind: 'DISK', severity: 'CRITICAL', threshold: t.diskPercent, value: (r) => r.diskPercent, describe: percent('disk usage of the data volume') },
    {
      kind: 'EVENT_LOOP_LAG',
      severity: 'WARNING',
      threshold: t.eventLoopLagMs,
      value: (r) => r.eventLoopLagMs,
      describe: (v, th) => `event-loop lag of ${v} ms is above ${th} ms`,
    },
    {
      kind: 'ERROR_RATE',
      severity: 'CRITICAL',
      threshold: t.errorRate,
      value: (r) => r.errorRate,
      describe: (v, th) => `${(v * 100).toFixed(1)}% of operations failed with a server error (threshold ${(th * 100).toFixed(1)}%)`,
    },
    {
      kind: 'SECURITY',
      severity: 'WARNING',
      threshold: t.securityEventsPerMinute,
      value: (r) => r.securityEventsPerMinute,
      describe: (v, th) => `failed logins and rate-limit hits at ${v} per minute are above ${th} per minute`,
    },
  ];
}

/**
 * Threshold rules over each interval's readings (ALERT_* settings). Hysteresis: a rule raises its
 * alert when the value goes above the threshold, and resolves it (noted AUTO) only once the value is
 * back at or below 90% of it, so a value hovering at the threshold does not flap. At most one
 * unresolved alert per kind: the alert service enforces it across instances.
 */
export class AlertEngine {
  private readonly rules: Rule[];
  private readonly kinds: string[];

  constructor(
    private readonly alerts: AlertService,
    thresholds: Config['alertThresholds'],
  ) {
    this.rules = rules(thresholds);
    this.kinds = this.rules.map((r) => r.kind);
  }

  async evaluate(readings: Readings): Promise<void> {
    const unresolved = await this.alerts.unresolvedKinds(this.kinds);
    for (const rule of this.rules) {
      const value = rule.value(readings);
      if (!unresolved.has(rule.kind) && value > rule.threshold) {
        await this.alerts.raise({
          severity: rule.severity,
          kind: rule.kind,
          message: rule.describe(value, rule.threshold),
          value,
          threshold: rule.threshold,
        });
      } else if (unresolved.has(rule.kind) && value <= rule.threshold * RESOLVE_RATIO) {
        await this.alerts.resolveAutomatically(rule.kind);
      }
    }
  }
}
