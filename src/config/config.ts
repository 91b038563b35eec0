import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** A bad environment variable: the message names it, and the server stops at start. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`Invalid configuration: ${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

export type FeatureName = 'ANALYTICS' | 'EXPORTS' | 'ADMIN';

/** The limits that take a mode: the query limits and the overall request budget (RATE_LIMIT_PER_MINUTE). */
export const LIMIT_NAMES = ['depth', 'aliases', 'tokens', 'directives', 'cost', 'budget'] as const;
export type LimitName = (typeof LIMIT_NAMES)[number];
/** `enforce` refuses an operation over the limit; `measure` lets it run, counts it and logs it once. */
export type LimitMode = 'enforce' | 'measure';
const LIMIT_MODES: readonly LimitMode[] = ['enforce', 'measure'];

/**
 * How the trusted-documents list is applied, in the order an operator rolls it out:
 * `log-unknown` runs everything and reports what is not in the list, `enforce` runs only the
 * list (sent by id or as its exact text), `require-id` runs only the list sent by id.
 */
export const TRUSTED_DOCUMENTS_MODES = ['log-unknown', 'enforce', 'require-id'] as const;
export type TrustedDocumentsMode = (typeof TRUSTED_DOCUMENTS_MODES)[number];

export interface RateLimitSetting {
  limit: number;
  durationSeconds: number;
}

export interface Config {
  env: 'development' | 'production' | 'test';
  production: boolean;
  port: number;
  host: string;
  /** Public base URL used in download links (defaults to http://localhost:PORT). */
  publicUrl: string | undefined;
  dataDir: string;
  /** The SDL directory (default: the project's schema/); a test points it at a fixture. */
  schemaDir: string | undefined;
  databaseUrl: string | undefined;
  dbPoolSize: number;
  dbConnectTimeoutMs: number;
  dbStatementTimeoutMs: number;
  redisUrl: string | undefined;
  redisPrefix: string;
  jwt: {
    /** HS256 secret, or undefined when an EdDSA key pair is configured. */
    secret: string | undefined;
    privateKeyPem: string | undefined;
    publicKeyPem: string | undefined;
    issuer: string;
    audience: string;
  };
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  exportLinkTtlSeconds: number;
  exportRetentionSeconds: number;
  adminEmail: string | undefined;
  adminPassword: string | undefined;
  metricsToken: string | undefined;
  corsOrigins: string[];
  trustedProxies: string[];
  trustedHosts: string[];
  ipAllowList: string[];
  ipDenyList: string[];
  alertWebhookUrl: string | undefined;
  maxBodyBytes: number;
  /** Open WebSocket connections per client IP (WS_MAX_CONNECTIONS_PER_IP). */
  wsMaxConnectionsPerIp: number;
  /** Anonymous (no token) WebSocket connections per client IP (WS_MAX_ANONYMOUS_CONNECTIONS_PER_IP). */
  wsMaxAnonymousConnectionsPerIp: number;
  /** Longest time to receive a whole request (headers and body); slower clients get 408 and are cut off. */
  requestTimeoutMs: number;
  /** Longest time to receive a request's headers. */
  headersTimeoutMs: number;
  maxQueryDepth: number;
  maxAliases: number;
  maxTokens: number;
  maxDirectives: number;
  maxCost: number;
  /** Each limit's mode: LIMITS_MODE for all, LIMIT_MODES overriding single limits. */
  limitModes: Record<LimitName, LimitMode>;
  /** Whether responses carry the estimated cost (`extensions.cost`, `X-Query-Cost`): EXPOSE_COST, default on in development only. */
  exposeCost: boolean;
  rateLimitPerMinute: number;
  /** Overrides of `@rateLimit` by schema coordinate (`Mutation.createReport`) and `loginFailures`. */
  rateLimits: Record<string, RateLimitSetting>;
  autoBlockThreshold: number;
  features: Record<FeatureName, boolean>;
  logLevel: string;
  shutdownTimeoutMs: number;
  sampleIntervalSeconds: number;
  metricsRetentionDays: number;
  auditRetentionDays: number;
  /** The manifest file (TRUSTED_DOCUMENTS); unset: any document runs. */
  trustedDocuments: string | undefined;
  /** TRUSTED_DOCUMENTS_MODE; `enforce` when TRUSTED_DOCUMENTS is set and this is not. */
  trustedDocumentsMode: TrustedDocumentsMode;
  /** TRUSTED_DOCUMENTS_SKIP_LIMITS: manifest documents, checked at load, skip the query limits (enforce, require-id). */
  trustedDocumentsSkipLimits: boolean;
  /**
   * OpenTelemetry traces over OTLP/HTTP, on when OTEL_EXPORTER_OTLP_ENDPOINT (or its _TRACES_ form)
   * is set; undefined means off, and nothing of OpenTelemetry is loaded. The exporter reads the
   * other standard OTEL_* variables itself (headers, timeout, batch delays, service name).
   */
  tracing: { protocol: TracingProtocol } | undefined;
  alertThresholds: {
    cpuPercent: number;
    memoryPercent: number;
    diskPercent: number;
    eventLoopLagMs: number;
    errorRate: number;
    securityEventsPerMinute: number;
  };
}

type Env = Record<string, string | undefined>;

/** The OTLP/HTTP encodings served (gRPC is not): protobuf is the OpenTelemetry default. */
export const TRACING_PROTOCOLS = ['http/protobuf', 'http/json'] as const;
export type TracingProtocol = (typeof TRACING_PROTOCOLS)[number];

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Reads and validates the environment. Throws ConfigError naming the first bad variable. */
export function loadConfig(env: Env = process.env): Config {
  const read = new EnvReader(env);
  const nodeEnv = read.oneOf('NODE_ENV', ['development', 'production', 'test'], 'development') as Config['env'];
  const production = nodeEnv === 'production';
  const port = read.int('PORT', 4000, 0, 65535);
  const dataDir = path.resolve(read.string('DATA_DIR') ?? 'data');

  const databaseUrl = read.string('DATABASE_URL');
  if (databaseUrl !== undefined && !/^(postgres|postgresql):\/\//.test(databaseUrl) && !databaseUrl.startsWith('file:')) {
    throw new ConfigError('DATABASE_URL', 'must be a postgres:// URL or a file: path (unset: embedded SQLite)');
  }
  const redisUrl = read.string('REDIS_URL');
  if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl)) {
    throw new ConfigError('REDIS_URL', 'must be a redis:// or rediss:// URL');
  }

  const privateKeyPem = read.pem('JWT_PRIVATE_KEY');
  const publicKeyPem = read.pem('JWT_PUBLIC_KEY');
  if ((privateKeyPem === undefined) !== (publicKeyPem === undefined)) {
    throw new ConfigError(privateKeyPem ? 'JWT_PUBLIC_KEY' : 'JWT_PRIVATE_KEY', 'must be set together with its pair');
  }
  let secret = read.string('JWT_SECRET');
  if (secret !== undefined && Buffer.byteLength(secret) < 32) {
    throw new ConfigError('JWT_SECRET', 'must be at least 32 bytes');
  }
  if (secret === undefined && privateKeyPem === undefined) {
    if (production) throw new ConfigError('JWT_SECRET', 'is required in production (at least 32 bytes)');
    secret = developmentSecret(dataDir);
  }

  const metricsToken = read.string('METRICS_TOKEN');
  if (production && metricsToken === undefined) {
    throw new ConfigError('METRICS_TOKEN', 'is required in production');
  }

  const adminEmail = read.string('ADMIN_EMAIL');
  const adminPassword = read.string('ADMIN_PASSWORD');
  if ((adminEmail === undefined) !== (adminPassword === undefined)) {
    throw new ConfigError(adminEmail ? 'ADMIN_PASSWORD' : 'ADMIN_EMAIL', 'must be set together with its pair');
  }
  if (adminPassword !== undefined && adminPassword.length < 12) {
    throw new ConfigError('ADMIN_PASSWORD', 'must be at least 12 characters');
  }

  // In development: local front ends, and Apollo Sandbox's iframe (it calls the API from its own origin).
  const corsDefault = production
    ? []
    : ['http://localhost:*', 'http://127.0.0.1:*', 'https://sandbox.embed.apollographql.com', 'https://studio.apollographql.com'];
  const publicUrl = read.url('PUBLIC_URL');

  const requestTimeoutMs = read.int('REQUEST_TIMEOUT_MS', 30_000, 1000, 3_600_000);
  const headersTimeoutMs = read.int('HEADERS_TIMEOUT_MS', Math.min(10_000, requestTimeoutMs), 1000, 3_600_000);
  if (headersTimeoutMs > requestTimeoutMs) {
    throw new ConfigError('HEADERS_TIMEOUT_MS', `must not exceed REQUEST_TIMEOUT_MS (${requestTimeoutMs})`);
  }

  const trustedDocuments = read.string('TRUSTED_DOCUMENTS');
  const trustedDocumentsMode = read.oneOf('TRUSTED_DOCUMENTS_MODE', [...TRUSTED_DOCUMENTS_MODES], 'enforce') as TrustedDocumentsMode;
  const trustedDocumentsSkipLimits = read.bool('TRUSTED_DOCUMENTS_SKIP_LIMITS', false);
  if (trustedDocuments === undefined) {
    for (const name of ['TRUSTED_DOCUMENTS_MODE', 'TRUSTED_DOCUMENTS_SKIP_LIMITS']) {
      if (read.string(name) !== undefined) throw new ConfigError(name, 'needs TRUSTED_DOCUMENTS (the manifest it applies to)');
    }
  }
  // In log-unknown any text runs, so the limits stay on for every document, the manifest's included.
  if (trustedDocumentsSkipLimits && trustedDocumentsMode === 'log-unknown') {
    throw new ConfigError('TRUSTED_DOCUMENTS_SKIP_LIMITS', 'applies only when TRUSTED_DOCUMENTS_MODE is enforce or require-id');
  }

  return {
    env: nodeEnv,
    production,
    port,
    host: read.string('HOST') ?? (production ? '0.0.0.0' : '127.0.0.1'),
    publicUrl: publicUrl?.replace(/\/$/, ''),
    dataDir,
    schemaDir: read.string('SCHEMA_DIR'),
    databaseUrl,
    dbPoolSize: read.int('DB_POOL_SIZE', 10, 1, 1000),
    dbConnectTimeoutMs: read.int('DB_CONNECT_TIMEOUT_MS', 5000, 100, 600_000),
    dbStatementTimeoutMs: read.int('DB_STATEMENT_TIMEOUT_MS', 15_000, 100, 3_600_000),
    redisUrl,
    redisPrefix: read.string('REDIS_PREFIX') ?? 'bastion:',
    jwt: {
      secret: privateKeyPem ? undefined : secret,
      privateKeyPem,
      publicKeyPem,
      issuer: read.string('JWT_ISSUER') ?? 'bastion',
      audience: read.string('JWT_AUDIENCE') ?? 'bastion-api',
    },
    accessTokenTtlSeconds: read.duration('ACCESS_TOKEN_TTL', 15 * 60),
    refreshTokenTtlSeconds: read.duration('REFRESH_TOKEN_TTL', 30 * 24 * 3600),
    exportLinkTtlSeconds: read.duration('EXPORT_LINK_TTL', 15 * 60),
    exportRetentionSeconds: read.duration('EXPORT_RETENTION', 24 * 3600),
    adminEmail: adminEmail?.toLowerCase(),
    adminPassword,
    metricsToken,
    corsOrigins: read.list('CORS_ORIGINS') ?? corsDefault,
    trustedProxies: read.list('TRUSTED_PROXIES') ?? [],
    trustedHosts: (read.list('TRUSTED_HOSTS') ?? []).map((h) => h.toLowerCase()),
    ipAllowList: read.list('IP_ALLOW_LIST') ?? [],
    ipDenyList: read.list('IP_DENY_LIST') ?? [],
    alertWebhookUrl: read.url('ALERT_WEBHOOK_URL'),
    maxBodyBytes: read.int('MAX_BODY_BYTES', 1024 * 1024, 1024, 100 * 1024 * 1024),
    wsMaxConnectionsPerIp: read.int('WS_MAX_CONNECTIONS_PER_IP', 100, 1, 1_000_000),
    wsMaxAnonymousConnectionsPerIp: read.int('WS_MAX_ANONYMOUS_CONNECTIONS_PER_IP', 10, 0, 1_000_000),
    requestTimeoutMs,
    headersTimeoutMs,
    maxQueryDepth: read.int('MAX_QUERY_DEPTH', 10, 1, 100),
    maxAliases: read.int('MAX_ALIASES', 15, 0, 1000),
    maxTokens: read.int('MAX_TOKENS', 2000, 100, 1_000_000),
    maxDirectives: read.int('MAX_DIRECTIVES', 50, 0, 10_000),
    maxCost: read.int('MAX_QUERY_COST', 10_000, 1, 10_000_000),
    limitModes: read.limitModes('LIMITS_MODE', 'LIMIT_MODES'),
    // Off by default outside development: scanners report a cost in every answer as information disclosure.
    exposeCost: read.bool('EXPOSE_COST', nodeEnv === 'development'),
    rateLimitPerMinute: read.int('RATE_LIMIT_PER_MINUTE', 600, 0, 10_000_000),
    rateLimits: read.rateLimits('RATE_LIMITS'),
    autoBlockThreshold: read.int('AUTO_BLOCK_THRESHOLD', 50, 0, 1_000_000),
    features: {
      ANALYTICS: read.bool('ENABLE_ANALYTICS', true),
      EXPORTS: read.bool('ENABLE_EXPORTS', true),
      ADMIN: read.bool('ENABLE_ADMIN', true),
    },
    logLevel: read.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    shutdownTimeoutMs: read.int('SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
    sampleIntervalSeconds: read.int('METRICS_SAMPLE_INTERVAL', 15, 1, 3600),
    metricsRetentionDays: read.int('METRICS_RETENTION_DAYS', 7, 1, 3650),
    auditRetentionDays: read.int('AUDIT_RETENTION_DAYS', 90, 1, 36500),
    trustedDocuments,
    trustedDocumentsMode,
    trustedDocumentsSkipLimits,
    tracing: readTracing(read),
    alertThresholds: {
      cpuPercent: read.number('ALERT_CPU_PERCENT', 90, 0, 100),
      memoryPercent: read.number('ALERT_MEMORY_PERCENT', 90, 0, 100),
      diskPercent: read.number('ALERT_DISK_PERCENT', 90, 0, 100),
      eventLoopLagMs: read.number('ALERT_EVENT_LOOP_LAG_MS', 200, 0, 600_000),
      errorRate: read.number('ALERT_ERROR_RATE', 0.05, 0, 1),
      securityEventsPerMinute: read.number('ALERT_SECURITY_EVENTS_PER_MINUTE', 100, 0, 10_000_000),
    },
  };
}

/** The standard OpenTelemetry switches: an OTLP endpoint turns traces on; OTEL_SDK_DISABLED or OTEL_TRACES_EXPORTER=none keep them off. */
function readTracing(read: EnvReader): Config['tracing'] {
  const endpoint = read.string('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') ? 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' : 'OTEL_EXPORTER_OTLP_ENDPOINT';
  if (read.url(endpoint) === undefined) return undefined;
  if (read.bool('OTEL_SDK_DISABLED', false) || read.string('OTEL_TRACES_EXPORTER') === 'none') return undefined;
  const exporter = read.string('OTEL_TRACES_EXPORTER');
  if (exporter !== undefined && exporter !== 'otlp') throw new ConfigError('OTEL_TRACES_EXPORTER', `must be otlp or none, got "${exporter}"`);
  const protocolVariable = read.string('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  return { protocol: read.oneOf(protocolVariable, [...TRACING_PROTOCOLS], 'http/protobuf') as TracingProtocol };
}

/** In development a random JWT secret is created once and kept under the data directory. */
function developmentSecret(dataDir: string): string {
  const file = path.join(dataDir, 'jwt-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(file, secret + '\n', { mode: 0o600 });
  return secret;
}

class EnvReader {
  constructor(private readonly env: Env) {}

  string(name: string): string | undefined {
    const value = this.env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    if (!/^-?\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
    return this.inRange(name, Number(raw), min, max);
  }

  number(name: string, fallback: number, min: number, max: number): number {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value)) throw new ConfigError(name, `must be a number, got "${raw}"`);
    return this.inRange(name, value, min, max);
  }

  bool(name: string, fallback: boolean): boolean {
    const raw = this.string(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
    if (['0', 'false', 'no', 'off'].includes(raw)) return false;
    throw new ConfigError(name, `must be true or false, got "${raw}"`);
  }

  oneOf(name: string, allowed: string[], fallback: string): string {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    if (!allowed.includes(raw)) throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got "${raw}"`);
    return raw;
  }

  list(name: string): string[] | undefined {
    const raw = this.string(name);
    return raw?.split(',').map((s) => s.trim()).filter(Boolean);
  }

  url(name: string): string | undefined {
    const raw = this.string(name);
    if (raw === undefined) return undefined;
    try {
      const url = new URL(raw);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('scheme');
    } catch {
      throw new ConfigError(name, 'must be an http(s) URL');
    }
    return raw;
  }

  /** Seconds, or a number with a unit: 900, 15m, 12h, 30d. */
  duration(name: string, fallback: number): number {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    const match = /^(\d+)\s*(s|m|h|d)?$/.exec(raw);
    if (!match) throw new ConfigError(name, `must be a duration such as 900, 15m, 12h or 30d, got "${raw}"`);
    const unit = { s: 1, m: 60, h: 3600, d: 86400 }[(match[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
    return this.inRange(name, Number(match[1]) * unit, 1, 10 * 365 * 86400);
  }

  /** A PEM given inline (with \n escapes allowed). */
  pem(name: string): string | undefined {
    const raw = this.string(name)?.replace(/\\n/g, '\n');
    if (raw !== undefined && !raw.includes('-----BEGIN')) throw new ConfigError(name, 'must be a PEM-encoded key');
    return raw;
  }

  /** `Mutation.createReport=120/60,loginFailures=10/900`: limit per duration in seconds. */
  rateLimits(name: string): Record<string, RateLimitSetting> {
    const result: Record<string, RateLimitSetting> = {};
    for (const entry of this.list(name) ?? []) {
      const match = /^([A-Za-z_.]+)=(\d+)\/(\d+)$/.exec(entry);
      if (!match) throw new ConfigError(name, `entries must read Type.field=limit/seconds, got "${entry}"`);
      result[match[1]!] = { limit: Number(match[2]), durationSeconds: Number(match[3]) };
    }
    return result;
  }

  /** `LIMITS_MODE=measure` for every limit, then `LIMIT_MODES=depth=measure,cost=enforce` for single ones. */
  limitModes(allName: string, eachName: string): Record<LimitName, LimitMode> {
    const all = this.oneOf(allName, [...LIMIT_MODES], 'enforce') as LimitMode;
    const modes = Object.fromEntries(LIMIT_NAMES.map((limit) => [limit, all])) as Record<LimitName, LimitMode>;
    for (const entry of this.list(eachName) ?? []) {
      const [, limit, mode] = /^(\w+)\s*=\s*(\w+)$/.exec(entry) ?? [];
      if (!(LIMIT_NAMES as readonly string[]).includes(limit ?? '') || !(LIMIT_MODES as readonly string[]).includes(mode ?? '')) {
        throw new ConfigError(eachName, `entries must read limit=enforce or limit=measure, the limit one of ${LIMIT_NAMES.join(', ')}; got "${entry}"`);
      }
      modes[limit as LimitName] = mode as LimitMode;
    }
    return modes;
  }

  private inRange(name: string, value: number, min: number, max: number): number {
    if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
    return value;
  }
}
