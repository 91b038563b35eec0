import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type CounterConfiguration, type LabelValues } from 'prom-client';
import { LIMIT_NAMES } from '../config/config.js';
import { ErrorCode } from '../errors.js';

/*
 * Label values known in advance. Their series are exported at 0 from start: a series born at 1 on
 * its first increment hides that event from Prometheus' rate() and increase().
 */
export const ALERT_SEVERITIES = ['INFO', 'WARNING', 'CRITICAL'] as const;
export const SECURITY_EVENT_TYPES = ['denied', 'invalid_token', 'rate_limited', 'failed_login', 'token_replay'] as const;
export const AUTH_EVENTS = [
  { event: 'register', result: 'success' },
  { event: 'login', result: 'success' },
  { event: 'login', result: 'failure' },
  { event: 'refresh', result: 'success' },
  { event: 'refresh', result: 'failure' },
  { event: 'refresh', result: 'replay' },
  { event: 'token', result: 'invalid' },
] as const;
/** What the trusted-documents list did with an operation (TRUSTED_DOCUMENTS). */
export const TRUSTED_DOCUMENT_OUTCOMES = ['trusted', 'unknown', 'refused'] as const;
export type TrustedDocumentOutcome = (typeof TRUSTED_DOCUMENT_OUTCOMES)[number];
/** Limits outside the SDL: the per-key request budget (HTTP, WebSocket) and the login-failure lockouts. */
export const BUILT_IN_RATE_LIMITS = ['http', 'ws', 'loginFailures', 'loginFailuresPerAccount'] as const;

/** Distinct client-chosen operation names kept as label values; the rest are counted as "other". */
const MAX_OPERATION_NAMES = 100;

const NON_COUNTER_TOTALS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** Estimated operation cost (MAX_QUERY_COST's calculation; default limit 10,000). */
const COST_BUCKETS = [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 25_000, 100_000];

/** The cost histogram's label for every operation that is not a trusted document. */
export const UNTRUSTED_OPERATION = 'other';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A counter whose values are, at every read, the `_count` series of `histogram`. */
function countOf<L extends string>(histogram: Histogram<L>, config: CounterConfiguration<L>): Counter<L> {
  return new Counter<L>({
    ...config,
    async collect() {
      this.reset();
      for (const value of (await histogram.get()).values) {
        if (value.metricName?.endsWith('_count')) this.inc(value.labels as LabelValues<L>, value.value);
      }
    },
  });
}

// One object for the common case: no allocation per observation.
const UNTRUSTED_LABELS = { operation: UNTRUSTED_OPERATION };

/** Every Prometheus metric of one server instance, in a registry of its own. */
export class Metrics {
  readonly registry = new Registry();
  readonly httpDuration = new Histogram({
    name: 'bastion_http_request_duration_seconds',
    help: 'HTTP request duration by method, route and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly operationDuration = new Histogram({
    name: 'bastion_graphql_operation_duration_seconds',
    help: 'GraphQL operation duration by operation name, type and outcome.',
    labelNames: ['operation', 'type', 'outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  // The request counters equal their histograms' _count series: they are filled from them at scrape
  // time instead of counted per request (a second label lookup per request, ~2 % of a small query).
  readonly httpRequests = countOf(this.httpDuration, {
    name: 'bastion_http_requests_total',
    help: 'HTTP requests by method, route and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  readonly operations = countOf(this.operationDuration, {
    name: 'bastion_graphql_operations_total',
    help: 'GraphQL operations by operation name, type and outcome.',
    labelNames: ['operation', 'type', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly graphqlErrors = new Counter({
    name: 'bastion_graphql_errors_total',
    help: 'GraphQL errors sent to clients, by error code.',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly rateLimitRejections = new Counter({
    name: 'bastion_rate_limit_rejections_total',
    help: 'Requests refused by a rate limit, by limit.',
    labelNames: ['limit'] as const,
    registers: [this.registry],
  });
  readonly queryLimitMeasured = new Counter({
    name: 'bastion_query_limit_measured_total',
    help: 'Operations that ran over a limit in measure mode (they would have been refused in enforce mode), by limit.',
    labelNames: ['limit'] as const,
    registers: [this.registry],
  });
  readonly operationCost = new Histogram({
    name: 'bastion_operation_cost',
    help: 'Estimated cost of each executed GraphQL operation (the MAX_QUERY_COST calculation), by operation name for trusted documents, else "other".',
    labelNames: ['operation'] as const,
    buckets: COST_BUCKETS,
    registers: [this.registry],
  });
  readonly authEvents = new Counter({
    name: 'bastion_auth_events_total',
    help: 'Authentication events (login, refresh, token) by result.',
    labelNames: ['event', 'result'] as const,
    registers: [this.registry],
  });
  readonly securityEvents = new Counter({
    name: 'bastion_security_events_total',
    help: 'Security events (denied access, invalid token, rate-limit hit, failed login, blocked request) by type.',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });
  readonly websocketConnections = new Gauge({
    name: 'bastion_websocket_connections',
    help: 'Open GraphQL WebSocket connections.',
    registers: [this.registry],
  });
  readonly activeSubscriptions = new Gauge({
    name: 'bastion_graphql_active_subscriptions',
    help: 'Active GraphQL subscriptions.',
    registers: [this.registry],
  });
  readonly dbQueryDuration = new Histogram({
    name: 'bastion_db_query_duration_seconds',
    help: 'Database query duration.',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly alerts = new Counter({
    name: 'bastion_alerts_total',
    help: 'Alerts raised, by severity.',
    labelNames: ['severity'] as const,
    registers: [this.registry],
  });
  // The audit guarantee: rows waiting for the database, and rows moved to the spill file.
  readonly auditBacklog = new Gauge({
    name: 'bastion_audit_backlog_rows',
    help: 'Audit rows accepted but not yet written to the database.',
    registers: [this.registry],
  });
  readonly auditSpilled = new Counter({
    name: 'bastion_audit_spilled_rows_total',
    help: 'Audit rows written to the local spill file because the database could not take them (replayed at start).',
    registers: [this.registry],
  });
  readonly databaseUnavailable = new Counter({
    name: 'bastion_database_unavailable_total',
    help: 'Requests answered SERVICE_UNAVAILABLE because the database could not be reached.',
    registers: [this.registry],
  });

  // The trusted-documents list (TRUSTED_DOCUMENTS): what it let through, and the list itself.
  readonly trustedDocumentRequests = new Counter({
    name: 'bastion_trusted_documents_requests_total',
    help: 'Operations checked against the trusted-documents list, by outcome: trusted (in the list), unknown (not in it; runs in log-unknown mode), refused.',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly trustedDocumentsUnknownDistinct = new Gauge({
    name: 'bastion_trusted_documents_unknown_distinct',
    help: 'Distinct unknown documents (by sha256) seen since start, each logged once; it stops growing at the remembered maximum.',
    registers: [this.registry],
  });
  readonly trustedDocumentsLoaded = new Gauge({
    name: 'bastion_trusted_documents_loaded',
    help: 'Operations in the trusted-documents list now in force.',
    registers: [this.registry],
  });
  readonly trustedDocumentsReloads = new Counter({
    name: 'bastion_trusted_documents_reloads_total',
    help: 'Reloads of the trusted-documents manifest (SIGHUP), by result; a failed one keeps the previous list.',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  // Set by the system sampler every interval (METRICS_SAMPLE_INTERVAL), on every instance.
  readonly systemCpu = new Gauge({
    name: 'bastion_system_cpu_usage_ratio',
    help: 'Whole-machine CPU use over the last sampling interval, 0 to 1.',
    registers: [this.registry],
  });
  readonly systemMemory = new Gauge({
    name: 'bastion_system_memory_usage_ratio',
    help: 'System memory in use (page cache counted as free), 0 to 1.',
    registers: [this.registry],
  });
  readonly dataVolume = new Gauge({
    name: 'bastion_data_volume_usage_ratio',
    help: 'Used share of the volume holding the data directory, 0 to 1.',
    registers: [this.registry],
  });

  private readonly operationNames = new Set<string>();

  constructor() {
    // Unprefixed, as every exporter names them (process_cpu_seconds_total, nodejs_heap_size_used_bytes),
    // so stock dashboards and rules work.
    collectDefaultMetrics({ register: this.registry });
    // Gauges that prom-client names with a `_total` suffix, which Prometheus reserves for counters
    // (promtool check metrics rejects them); nodejs_active_handles etc. carry the same numbers.
    for (const name of NON_COUNTER_TOTALS) this.registry.removeSingleMetric(name);
    // inc by 0 creates the series at 0 (prom-client's zero() exists on gauges only).
    for (const severity of ALERT_SEVERITIES) this.alerts.inc({ severity }, 0);
    for (const code of Object.values(ErrorCode)) this.graphqlErrors.inc({ code }, 0);
    for (const type of SECURITY_EVENT_TYPES) this.securityEvents.inc({ type }, 0);
    for (const labels of AUTH_EVENTS) this.authEvents.inc(labels, 0);
    for (const limit of LIMIT_NAMES) this.queryLimitMeasured.inc({ limit }, 0);
    this.declareRateLimits(BUILT_IN_RATE_LIMITS);
    for (const outcome of TRUSTED_DOCUMENT_OUTCOMES) this.trustedDocumentRequests.inc({ outcome }, 0);
    for (const result of ['success', 'failure']) this.trustedDocumentsReloads.inc({ result }, 0);
  }

  /** Exports a rejection counter at 0 for each limit (the SDL's `@rateLimit` coordinates are known once the schema is built). */
  declareRateLimits(limits: readonly string[]): void {
    for (const limit of limits) this.rateLimitRejections.inc({ limit }, 0);
  }

  /** One HTTP request: `route` is the route pattern (or "unmatched"), never the raw URL. */
  recordHttp(method: string, route: string, status: number, seconds: number): void {
    this.httpDuration.observe({ method, route, status: String(status) }, seconds);
  }

  /** One GraphQL operation; `operation` comes from operationLabel, so it is bounded. */
  recordOperation(operation: string, type: string, outcome: 'success' | 'error', seconds: number): void {
    this.operationDuration.observe({ operation, type, outcome }, seconds);
  }

  /** One executed operation's estimated cost; `operation` is a trusted document's name (bounded by the manifest) or UNTRUSTED_OPERATION. */
  recordCost(operation: string, cost: number): void {
    this.operationCost.observe(operation === UNTRUSTED_OPERATION ? UNTRUSTED_LABELS : { operation }, cost);
  }

  /** A bounded label value for a client-chosen operation name. */
  operationLabel(name: string | null | undefined): string {
    if (!name) return 'anonymous';
    if (this.operationNames.has(name)) return name;
    if (this.operationNames.size >= MAX_OPERATION_NAMES || !/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name)) return 'other';
    this.operationNames.add(name);
    return name;
  }

  /** GraphQL requests and errors since start, and the 95th percentile of their duration in ms. */
  async operationSummary(): Promise<{ requests: number; errors: number; p95Ms: number }> {
    const counts = await this.operations.get();
    let requests = 0;
    let errors = 0;
    for (const v of counts.values) {
      requests += v.value;
      if (v.labels['outcome'] !== 'success') errors += v.value;
    }
    const histogram = await this.operationDuration.get();
    const buckets = new Map<number, number>();
    for (const v of histogram.values) {
      const le = (v.labels as Record<string, string | number | undefined>)['le'];
      if (v.metricName?.endsWith('_bucket') && le !== undefined) {
        const bound = le === '+Inf' ? Infinity : Number(le);
        buckets.set(bound, (buckets.get(bound) ?? 0) + v.value);
      }
    }
    return { requests, errors, p95Ms: quantileFromBuckets(buckets, 0.95) * 1000 };
  }
}

/** The q-quantile of cumulative histogram buckets (upper bound → count), interpolated within a bucket. */
export function quantileFromBuckets(cumulative: Map<number, number>, q: number): number {
  const bounds = [...cumulative.keys()].sort((a, b) => a - b);
  const total = cumulative.get(Infinity) ?? (bounds.length ? cumulative.get(bounds[bounds.length - 1]!)! : 0);
  if (!total) return 0;
  const rank = q * total;
  let previousBound = 0;
  let previousCount = 0;
  for (const bound of bounds) {
    const count = cumulative.get(bound)!;
    if (count >= rank) {
      if (bound === Infinity) return previousBound;
      const inBucket = count - previousCount;
      return inBucket === 0 ? bound : previousBound + ((rank - previousCount) / inBucket) * (bound - previousBound);
    }
    previousBound = bound;
    previousCount = count;
  }
  return previousBound;
}
