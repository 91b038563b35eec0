import type { Config } from '../config/config.js';
import type { Diagnostics, DependencyDiagnostic } from '../generated/graphql.js';
import type { Database } from '../db/database.js';
import type { RedisConnections } from '../messaging/redis.js';
import type { RecentErrors } from '../observability/recentErrors.js';
import type { AlertWebhook } from './alertWebhook.js';
import { pingDatabase, pingRedis } from './status.js';
import { versions } from './versions.js';

export const REDACTED = '[redacted]';

/** Configuration keys whose values are secrets. */
const SECRET_KEY = /(secret|password|privatekey|credential|apikey|token$)/i;
/** URLs whose path itself is a credential (webhook URLs of Slack and the like carry their key there). */
const SECRET_PATH_KEYS = new Set(['alertWebhookUrl']);

/** A URL with its user info and query (and, for webhooks, its path) replaced by `[redacted]`. */
export function redactUrl(value: string, redactPath = false): string {
  try {
    const url = new URL(value);
    const auth = url.username || url.password ? `${REDACTED}@` : '';
    const pathPart = redactPath && url.pathname !== '/' ? `/${REDACTED}` : url.pathname;
    const query = url.search ? `?${REDACTED}` : '';
    return `${url.protocol}//${auth}${url.host}${pathPart === '/' ? '' : pathPart}${query}`;
  } catch {
    return REDACTED;
  }
}

function display(key: string, value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (SECRET_KEY.test(key.split('.').pop()!)) return REDACTED;
  if (Array.isArray(value)) return value.join(',');
  if (typeof value === 'string' && /url$/i.test(key)) return redactUrl(value, SECRET_PATH_KEYS.has(key));
  return String(value);
}

/** The effective configuration, flattened to dotted keys (`jwt.issuer`), secrets shown as `[redacted]`. */
export function configEntries(config: Config): Array<{ key: string; value: string | null }> {
  const entries: Array<{ key: string; value: string | null }> = [];
  const walk = (prefix: string, value: unknown) => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) walk(prefix ? `${prefix}.${k}` : k, v);
    } else {
      entries.push({ key: prefix, value: display(prefix, value) });
    }
  };
  walk('', config);
  return entries.sort((a, b) => a.key.localeCompare(b.key));
}

/**
 * Every secret value the configuration holds, including credentials and webhook paths inside
 * URLs: diagnostics is scrubbed of all of them as a last line of defence (e.g. an error message
 * quoting a connection string).
 */
function secretsOf(config: Config): string[] {
  const secrets = [config.jwt.secret, config.jwt.privateKeyPem, config.adminPassword, config.metricsToken];
  for (const raw of [config.databaseUrl, config.redisUrl, config.alertWebhookUrl]) {
    if (!raw) continue;
    try {
      const url = new URL(raw);
      // User names are redacted where they appear in URLs, but not scrubbed: "postgres" is also a word.
      secrets.push(decodeURIComponent(url.password), url.password, url.search.slice(1));
      if (raw === config.alertWebhookUrl) secrets.push(url.pathname.slice(1));
    } catch {
      secrets.push(raw);
    }
  }
  // Very short values would turn ordinary text into [redacted]; URLs still redact them structurally.
  return [...new Set(secrets.filter((s): s is string => typeof s === 'string' && s.length >= 6))].sort((a, b) => b.length - a.length);
}

function scrubber(config: Config): (text: string) => string {
  const secrets = secretsOf(config);
  return (text) => secrets.reduce((out, secret) => out.split(secret).join(REDACTED), text);
}

function webhookDiagnostic(webhook: AlertWebhook): DependencyDiagnostic {
  const { lastSuccessAt, lastFailureAt, lastFailure } = webhook.state;
  const failing = lastFailureAt !== null && (lastSuccessAt === null || lastFailureAt > lastSuccessAt);
  return {
    name: 'alertWebhook',
    status: failing ? 'DEGRADED' : 'OK',
    latencyMs: null,
    detail: failing ? `last delivery failed at ${lastFailureAt.toISOString()}: ${lastFailure}` : lastSuccessAt ? `last delivered at ${lastSuccessAt.toISOString()}` : 'nothing sent yet',
  };
}

/** Versions, dependencies, effective configuration and recent server-side errors; never a secret. */
export interface DiagnosticsDeps {
  config: Config;
  db: Database;
  redis: RedisConnections | undefined;
  recentErrors: RecentErrors;
}

export async function diagnostics(services: DiagnosticsDeps, webhook: AlertWebhook | undefined): Promise<Diagnostics> {
  const { config, db } = services;
  const [versionList, database, redis] = await Promise.all([versions(db), pingDatabase(services), pingRedis(services)]);
  const dependencies: DependencyDiagnostic[] = [
    { name: 'database', ...database, detail: db.provider === 'sqlite' ? 'embedded SQLite' : 'PostgreSQL' },
    { name: 'redis', ...redis, detail: services.redis ? null : 'not configured: in-process rate limits and pub/sub' },
  ];
  if (webhook) dependencies.push(webhookDiagnostic(webhook));
  const scrub = scrubber(config);
  return {
    versions: versionList,
    dependencies: dependencies.map((d) => ({ ...d, detail: d.detail ? scrub(d.detail) : d.detail })),
    config: configEntries(config).map((e) => ({ key: e.key, value: e.value === null ? null : scrub(e.value) })),
    recentErrors: services.recentErrors.list().map((e) => ({ ...e, message: scrub(e.message) })),
  };
}
