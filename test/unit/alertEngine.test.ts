import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { AlertEngine } from '../../src/system/alertEngine.js';
import type { AlertService, NewAlert } from '../../src/system/alerts.js';
import type { Readings } from '../../src/system/meters.js';

/** The part of AlertService the engine uses, keeping unresolved kinds in memory. */
class FakeAlerts {
  readonly unresolved = new Set<string>();
  readonly raised: NewAlert[] = [];
  readonly resolved: string[] = [];
  async unresolvedKinds(kinds: readonly string[]) {
    return new Set(kinds.filter((k) => this.unresolved.has(k)));
  }
  async raise(alert: NewAlert) {
    this.raised.push(alert);
    this.unresolved.add(alert.kind);
  }
  async resolveAutomatically(kind: string) {
    this.resolved.push(kind);
    return this.unresolved.delete(kind);
  }
}

const calm: Readings = {
  cpuPercent: 10,
  memoryPercent: 20,
  diskPercent: 30,
  eventLoopLagMs: 1,
  requestsPerSecond: 5,
  errorRate: 0,
  securityEventsPerMinute: 0,
};

function engine() {
  const alerts = new FakeAlerts();
  const config = loadConfig({ JWT_SECRET: 'x'.repeat(32), ALERT_CPU_PERCENT: '80' });
  return { alerts, engine: new AlertEngine(alerts as unknown as AlertService, config.alertThresholds) };
}

describe('alert engine: thresholds with hysteresis', () => {
  it('raises nothing while every value is under its threshold', async () => {
    const { alerts, engine: e } = engine();
    await e.evaluate(calm);
    expect(alerts.raised).toEqual([]);
  });

  it('raises once above the threshold, holds in the band between 90% and 100% of it, resolves at or below 90%', async () => {
    const { alerts, engine: e } = engine();
    await e.evaluate({ ...calm, cpuPercent: 85 });
    expect(alerts.raised).toEqual([{ severity: 'WARNING', kind: 'CPU', message: 'CPU usage at 85% is above 80%', value: 85, threshold: 80 }]);
    await e.evaluate({ ...calm, cpuPercent: 95 });
    await e.evaluate({ ...calm, cpuPercent: 75 }); // below the threshold, above 72 (90% of it): still open
    expect(alerts.raised).toHaveLength(1);
    expect(alerts.resolved).toEqual([]);
    await e.evaluate({ ...calm, cpuPercent: 72 });
    expect(alerts.resolved).toEqual(['CPU']);
    await e.evaluate({ ...calm, cpuPercent: 81 });
    expect(alerts.raised.map((a) => a.kind)).toEqual(['CPU', 'CPU']);
  });

  it('judges each rule against its own ALERT_* threshold and severity', async () => {
    const { alerts, engine: e } = engine();
    await e.evaluate({ ...calm, diskPercent: 91, errorRate: 0.06, eventLoopLagMs: 250, memoryPercent: 95, securityEventsPerMinute: 101 });
    expect(Object.fromEntries(alerts.raised.map((a) => [a.kind, [a.severity, a.threshold]]))).toEqual({
      MEMORY: ['WARNING', 90],
      DISK: ['CRITICAL', 90],
      EVENT_LOOP_LAG: ['WARNING', 200],
      ERROR_RATE: ['CRITICAL', 0.05],
      SECURITY: ['WARNING', 100],
    });
  });

  it('leaves alerts of other kinds (manual ones, TOKEN_REPLAY) alone', async () => {
    const { alerts, engine: e } = engine();
    alerts.unresolved.add('TOKEN_REPLAY');
    await e.evaluate(calm);
    expect(alerts.resolved).toEqual([]);
  });
});
