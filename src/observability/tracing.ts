import type { Tracer } from '@opentelemetry/api';
import type { Config } from '../config/config.js';

/**
 * OpenTelemetry traces, as the rest of the server sees them. This module is always loaded and
 * imports nothing of OpenTelemetry at run time (type imports are erased): the SDK and the modules
 * that create spans are loaded by dynamic import only when tracing is configured
 * (`config.tracing`, set by OTEL_EXPORTER_OTLP_ENDPOINT), so a server without it pays nothing.
 */
export interface Tracing {
  /** Bastion's tracer: HTTP, GraphQL, resolver and WebSocket spans. Prisma brings its own. */
  tracer: Tracer;
  /** For each log line: the active span's `trace_id` and `span_id` (a pino mixin). */
  logFields(): Record<string, string>;
  /** A span around a statement that Prisma's instrumentation does not see. */
  statementSpan: StatementSpan;
  /** Sends the spans still buffered and stops exporting. */
  shutdown(): Promise<void>;
}

/** Runs `run` inside a client span for the statement `sql` (its text only, never its arguments). */
export type StatementSpan = <T>(system: 'sqlite' | 'postgresql', sql: string, run: () => Promise<T>) => Promise<T>;

/** Starts the OpenTelemetry SDK when the configuration asks for traces; undefined otherwise. */
export async function startTracing(config: Pick<Config, 'tracing'>): Promise<Tracing | undefined> {
  if (!config.tracing) return undefined;
  const { startOpenTelemetry } = await import('./openTelemetry.js');
  return startOpenTelemetry(config.tracing.protocol);
}
