import type { Counter } from 'prom-client';
import type { Metrics } from '../observability/metrics.js';
import type { SecurityEventType } from '../security/securityEvents.js';
import { round } from './readings.js';

/** Security events that count as an attack spike: failed logins and rate-limit hits. */
const SPIKE_EVENTS = new Set<string>(['failed_login', 'rate_limited'] satisfies SecurityEventType[]);
const SERVER_ERROR_CODE = 'INTERNAL_SERVER_ERROR';

export interface TrafficReading {
  /** GraphQL operations per second. */
  requestsPerSecond: number;
  /** Share (0..1) of GraphQL operations that failed with a server error (INTERNAL_SERVER_ERROR). */
  errorRate: number;
  /** Failed logins plus rate-limit hits, per minute. */
  securityEventsPerMinute: number;
}

interface Totals {
  at: number;
  operations: number;
  serverErrors: number;
  securityEvents: number;
}

async function sum(counter: Counter<string>, include: (labels: Record<string, string | number | undefined>) => boolean = () => true): Promise<number> {
  const { values } = await counter.get();
  return values.reduce((total, v) => (include(v.labels) ? total + v.value : total), 0);
}

/**
 * Rates over one sampling interval, from the deltas of the Prometheus counters (the same numbers
 * the ops/alerts.yml rules compute with rate()).
 */
export class TrafficMeter {
  /** Counters start at zero with the server, which is when this meter is made. */
  private last: Totals = { at: Date.now(), operations: 0, serverErrors: 0, securityEvents: 0 };

  constructor(private readonly metrics: Metrics) {}

  async measure(): Promise<TrafficReading> {
    const now = await this.totals();
    const last = this.last;
    this.last = now;
    const seconds = Math.max((now.at - last.at) / 1000, 0.001);
    const operations = now.operations - last.operations;
    const serverErrors = now.serverErrors - last.serverErrors;
    return {
      requestsPerSecond: round(operations / seconds),
      errorRate: operations > 0 ? Math.min(1, serverErrors / operations) : 0,
      securityEventsPerMinute: round(((now.securityEvents - last.securityEvents) / seconds) * 60),
    };
  }

  private async totals(): Promise<Totals> {
    const [operations, serverErrors, securityEvents] = await Promise.all([
      sum(this.metrics.operations),
      sum(this.metrics.graphqlErrors, (labels) => labels['code'] === SERVER_ERROR_CODE),
      sum(this.metrics.securityEvents, (labels) => SPIKE_EVENTS.has(String(labels['type']))),
    ]);
    return { at: Date.now(), operations, serverErrors, securityEvents };
  }
}
