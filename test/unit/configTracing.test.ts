import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';

const BASE = { NODE_ENV: 'test', JWT_SECRET: 'x'.repeat(32) };
const ENDPOINT = { ...BASE, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };

describe('tracing switches (the standard OpenTelemetry variables)', () => {
  it('are off unless an OTLP endpoint is set', () => {
    expect(loadConfig(BASE).tracing).toBeUndefined();
    expect(loadConfig({ ...BASE, OTEL_EXPORTER_OTLP_ENDPOINT: '' }).tracing).toBeUndefined();
    expect(loadConfig(ENDPOINT).tracing).toEqual({ protocol: 'http/protobuf' });
    expect(loadConfig({ ...BASE, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://collector/v1/traces' }).tracing).toEqual({ protocol: 'http/protobuf' });
  });

  it('take the OTLP/HTTP encoding, the traces-specific variable first', () => {
    expect(loadConfig({ ...ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }).tracing).toEqual({ protocol: 'http/json' });
    expect(loadConfig({ ...ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' }).tracing).toEqual({ protocol: 'http/json' });
  });

  it('stay off when the SDK is disabled or the traces exporter is none', () => {
    expect(loadConfig({ ...ENDPOINT, OTEL_SDK_DISABLED: 'true' }).tracing).toBeUndefined();
    expect(loadConfig({ ...ENDPOINT, OTEL_TRACES_EXPORTER: 'none' }).tracing).toBeUndefined();
  });

  it('refuse what is not served, naming the variable', () => {
    expect(() => loadConfig({ ...ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow(/OTEL_EXPORTER_OTLP_PROTOCOL/);
    expect(() => loadConfig({ ...ENDPOINT, OTEL_TRACES_EXPORTER: 'zipkin' })).toThrow(/OTEL_TRACES_EXPORTER/);
    expect(() => loadConfig({ ...BASE, OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT/);
  });
});
