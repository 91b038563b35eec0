// Loaded only when tracing is configured (src/observability/tracing.ts): the OpenTelemetry SDK.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { PrismaInstrumentation, registerInstrumentations } from '@prisma/instrumentation';
import type { TracingProtocol } from '../config/config.js';
import { projectRoot } from '../db/projectPaths.js';

/** How long the drain waits for the last spans to be sent. */
const LAST_EXPORT_TIMEOUT_MS = 3000;

/** The instrumentation scope of Bastion's own spans. */
const TRACER_NAME = 'bastion';

/**
 * A tracer provider exporting over OTLP/HTTP in batches, registered globally with the
 * AsyncLocalStorage context manager and the W3C trace-context propagator; and Prisma's own
 * instrumentation, which gives every client operation and every SQL statement a span (on both
 * driver adapters: the statements are traced by the Prisma client, not by the drivers). Nothing
 * is patched at import time, so the order of imports does not matter.
 *
 * The exporter and the batch processor read the standard variables themselves:
 * OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, _HEADERS, _TIMEOUT, _COMPRESSION, OTEL_BSP_*;
 * OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES name the service. Returns what `Tracing`
 * (src/observability/tracing.ts, which loads this module) describes.
 */
export function startOpenTelemetry(protocol: TracingProtocol) {
  const version = (JSON.parse(readFileSync(path.join(projectRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  // Later resources win: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override the defaults.
  const resource = defaultResource()
    .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: 'bastion', [ATTR_SERVICE_VERSION]: version }))
    .merge(detectResources({ detectors: [envDetector] }));
  const exporter = protocol === 'http/json' ? new OtlpJsonExporter() : new OtlpProtobufExporter();
  const provider = new NodeTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(exporter)] });
  provider.register();
  const disableInstrumentations = registerInstrumentations({ tracerProvider: provider, instrumentations: [new PrismaInstrumentation()] });

  const tracer = trace.getTracer(TRACER_NAME, version);
  return {
    tracer,
    statementSpan<T>(system: 'sqlite' | 'postgresql', sql: string, run: () => Promise<T>): Promise<T> {
      const attributes = { 'db.system.name': system, 'db.query.text': sql };
      return tracer.startActiveSpan('db_query', { kind: SpanKind.CLIENT, attributes }, (span) =>
        run().then(
          (rows) => {
            span.end();
            return rows;
          },
          (error: unknown) => {
            span.setStatus({ code: SpanStatusCode.ERROR });
            span.end();
            throw error;
          },
        ),
      );
    },
    // A new object every time: pino merges each line's fields into what the mixin returns.
    logFields(): Record<string, string> {
      const span = trace.getSpan(context.active());
      if (!span) return {};
      const { traceId, spanId } = span.spanContext();
      return { trace_id: traceId, span_id: spanId };
    },
    async shutdown() {
      disableInstrumentations();
      // A collector that does not answer must not hold the drain (SHUTDOWN_TIMEOUT_MS) hostage.
      await Promise.race([provider.shutdown(), new Promise((resolve) => setTimeout(resolve, LAST_EXPORT_TIMEOUT_MS).unref())]);
    },
  };
}
