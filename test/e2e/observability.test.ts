import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promtoolAvailable as isPromtoolAvailable } from '../helpers/binaries.js';
import { ROOT } from '../helpers/process.js';
import { createStorage, errorCodes, loginAdmin, register, skipSuite, testDb, TestServer, type Session } from '../helpers/server.js';
import { eventually } from '../helpers/wait.js';

const METRICS_TOKEN = 'metrics-token-for-tests-0123456789';
const promtoolAvailable = skipSuite() ? false : isPromtoolAvailable();

const SYSTEM_STATUS = /* GraphQL */ `
  query SystemStatus {
    systemStatus {
      status version uptimeSeconds eventLoopLagMs
      cpu { cores usagePercent loadAverage }
      memory { totalBytes usedBytes usagePercent rssBytes heapUsedBytes }
      disk { totalBytes usedBytes usagePercent }
      database { status latencyMs }
      cache { status latencyMs }
    }
  }
`;
const HISTORY = /* GraphQL */ `
  query History($range: TimeRangeInput!) {
    systemMetricsHistory(range: $range) { t cpuPercent memoryPercent eventLoopLagMs requestsPerSecond errorRate }
  }
`;
const DIAGNOSTICS = /* GraphQL */ `
  query Diagnostics {
    diagnostics {
      versions { name version }
      dependencies { name status latencyMs detail }
      config { key value }
      recentErrors { at code message operationName requestId }
    }
  }
`;

async function scrape(server: TestServer, token?: string): Promise<Response> {
  return fetch(`${server.url}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
}

describe.skipIf(skipSuite())('observability: /metrics', () => {
  let server: TestServer;
  let admin: Session;
  beforeAll(async () => {
    server = await TestServer.start({ METRICS_TOKEN });
    admin = await loginAdmin(server);
  });
  afterAll(() => server.close());

  it('refuses a scrape without the bearer token, or with a wrong one', async () => {
    const none = await scrape(server);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await scrape(server, 'wrong-token')).status).toBe(401);
    const ok = await scrape(server, METRICS_TOKEN);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toMatch(/^text\/plain/);
  });

  it('exposes every metric family after traffic, with bounded labels and no user ids', async () => {
    const user = await register(server);
    await server.gql('query ObservabilityProbe { me { id } }', undefined, { token: user.accessToken });
    await server.gql('query ObservabilityDenied { users { totalCount } }', undefined, { token: user.accessToken });
    const ws = server.wsClient(admin.accessToken, { lazy: false });
    const connected = new Promise<void>((resolve) => ws.on('connected', () => resolve()));
    await connected;
    const text = await (await scrape(server, METRICS_TOKEN)).text();
    await ws.dispose();

    for (const name of [
      'bastion_http_requests_total',
      'bastion_http_request_duration_seconds_bucket',
      'bastion_graphql_operations_total',
      'bastion_graphql_operation_duration_seconds_bucket',
      'bastion_graphql_errors_total',
      'bastion_auth_events_total',
      'bastion_security_events_total',
      'bastion_rate_limit_rejections_total',
      'bastion_websocket_connections',
      'bastion_graphql_active_subscriptions',
      'bastion_db_query_duration_seconds_bucket',
      'bastion_alerts_total',
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_seconds',
      'nodejs_heap_size_used_bytes',
    ]) {
      expect(text, name).toMatch(new RegExp(`^# TYPE ${name.replace(/_bucket$/, '')} `, 'm'));
    }
    expect(text).toMatch(/^bastion_graphql_operations_total\{operation="ObservabilityProbe",type="query",outcome="success"\} 1$/m);
    expect(text).toMatch(/^bastion_graphql_errors_total\{code="FORBIDDEN"\} [1-9]/m);
    expect(text).toMatch(/^bastion_http_requests_total\{method="POST",route="\/graphql",status="200"\} [1-9]/m);
    expect(text).toMatch(/^bastion_auth_events_total\{event="register",result="success"\} [1-9]/m);
    expect(text).toMatch(/^bastion_websocket_connections 1$/m);
    expect(text).not.toContain(user.user.id);
    expect(text).not.toContain(admin.user.id);
  });

  it('caps client-chosen operation names and counts the rest as "other"', async () => {
    for (let i = 0; i < 110; i++) await server.gql(`query Flood${i} { __typename }`);
    const text = await (await scrape(server, METRICS_TOKEN)).text();
    const names = new Set([...text.matchAll(/^bastion_graphql_operations_total\{operation="([^"]+)"/gm)].map((m) => m[1]));
    expect(names.has('other')).toBe(true);
    expect(names.size).toBeLessThanOrEqual(101 + 1); // 100 names, "other" and "anonymous"
  });

  it.skipIf(!promtoolAvailable)('passes promtool check metrics', async () => {
    const text = await (await scrape(server, METRICS_TOKEN)).text();
    const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});

describe.skipIf(skipSuite())('observability: ops examples', () => {
  const ops = (file: string) => path.join(ROOT, 'ops', file);
  const dashboard = JSON.parse(readFileSync(ops('grafana-dashboard.json'), 'utf8')) as {
    uid: string;
    panels: Array<{ id: number; targets: Array<{ expr: string }> }>;
  };
  /** PromQL of the dashboard with Grafana's variables filled in. */
  const dashboardExprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr.replaceAll('$__rate_interval', '5m').replaceAll('$instance', '.*')));
  const metricNames = (text: string) => new Set(text.match(/\b(bastion|process|nodejs)_[a-z_]+/g));

  it('refers only to metrics the server exposes', async () => {
    const server = await TestServer.start({ METRICS_SAMPLE_INTERVAL: '1' });
    try {
      const admin = await loginAdmin(server);
      await server.gql('{ me { id } }', undefined, { token: admin.accessToken });
      await server.gql('mutation { runMaintenance(task: CLEAR_CACHES) { ok } }', undefined, { token: admin.accessToken });
      const exposed = await (await scrape(server)).text();
      const used = new Set([...metricNames(readFileSync(ops('alerts.yml'), 'utf8')), ...metricNames(dashboardExprs.join('\n'))]);
      expect(used.size).toBeGreaterThan(10);
      expect([...used].filter((name) => !exposed.includes(name))).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('ships a dashboard with unique panel ids', () => {
    expect(dashboard.uid).toBe('bastion-overview');
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it.skipIf(!promtoolAvailable)('passes promtool: scrape config, alerting rules and the dashboard queries', () => {
    const config = spawnSync('promtool', ['check', 'config', ops('prometheus.yml')], { encoding: 'utf8' });
    expect(config.stdout + config.stderr).toContain('SUCCESS: 1 rule files found');
    expect(config.status).toBe(0);
    // promtool parses PromQL when it checks rules: wrap each dashboard query in a recording rule.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bastion-ops-'));
    try {
      const rules = dashboardExprs.map((expr, i) => `      - record: dashboard:query_${i}\n        expr: ${JSON.stringify(expr)}`).join('\n');
      writeFileSync(path.join(dir, 'dashboard-rules.yml'), `groups:\n  - name: dashboard\n    rules:\n${rules}\n`);
      const check = spawnSync('promtool', ['check', 'rules', path.join(dir, 'dashboard-rules.yml')], { encoding: 'utf8' });
      expect(check.stdout + check.stderr).toContain(`SUCCESS: ${dashboardExprs.length} rules found`);
      expect(check.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(skipSuite())('observability: system status, history, diagnostics', () => {
  let server: TestServer;
  let admin: Session;
  beforeAll(async () => {
    server = await TestServer.start({ METRICS_SAMPLE_INTERVAL: '1' });
    admin = await loginAdmin(server);
  });
  afterAll(() => server.close());

  it('reports CPU, memory, disk, event-loop lag and dependency health', async () => {
    const res = await server.gql<{ systemStatus: Record<string, any> }>(SYSTEM_STATUS, undefined, { token: admin.accessToken });
    expect(res.body.errors).toBeUndefined();
    const status = res.body.data!.systemStatus;
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(status).toMatchObject({ status: 'OK', version: pkg.version, database: { status: 'OK' }, cache: { status: 'OK', latencyMs: null } });
    expect(status.database.latencyMs).toBeGreaterThanOrEqual(0);
    expect(status.cpu.cores).toBeGreaterThanOrEqual(1);
    expect(status.cpu.usagePercent).toBeGreaterThanOrEqual(0);
    expect(status.cpu.usagePercent).toBeLessThanOrEqual(100);
    expect(status.cpu.loadAverage).toHaveLength(3);
    expect(status.memory.totalBytes).toBeGreaterThan(status.memory.usedBytes);
    expect(status.memory.rssBytes).toBeGreaterThan(status.memory.heapUsedBytes);
    expect(status.disk.totalBytes).toBeGreaterThan(0);
    expect(status.disk.usagePercent).toBeGreaterThan(0);
    expect(status.eventLoopLagMs).toBeGreaterThanOrEqual(0);
    expect(status.uptimeSeconds).toBeGreaterThan(0);
  });

  it('stores a sample every interval and returns the history oldest first', async () => {
    const range = { from: new Date(Date.now() - 60_000).toISOString() };
    const samples = await eventually(
      async () => (await server.gql<{ systemMetricsHistory: Array<{ t: string }> }>(HISTORY, { range }, { token: admin.accessToken })).body.data!.systemMetricsHistory,
      (list) => list.length >= 2,
    );
    const times = samples.map((s) => Date.parse(s.t));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(samples[0]).toEqual({
      t: expect.any(String),
      cpuPercent: expect.any(Number),
      memoryPercent: expect.any(Number),
      eventLoopLagMs: expect.any(Number),
      requestsPerSecond: expect.any(Number),
      errorRate: expect.any(Number),
    });
    const future = await server.gql(HISTORY, { range: { from: new Date(Date.now() + 3600_000).toISOString(), to: new Date(Date.now() + 7200_000).toISOString() } }, { token: admin.accessToken });
    expect(future.body.data).toEqual({ systemMetricsHistory: [] });
    const tooLong = await server.gql(HISTORY, { range: { from: '2020-01-01T00:00:00Z', to: '2022-01-01T00:00:00Z' } }, { token: admin.accessToken });
    expect(errorCodes(tooLong.body)).toEqual(['BAD_USER_INPUT']);
  });

  it('streams each new sample to a systemMetrics subscriber', async () => {
    const client = server.wsClient(admin.accessToken);
    try {
      const sample = await new Promise<Record<string, unknown>>((resolve, reject) => {
        const stop = client.subscribe<{ systemMetrics: Record<string, unknown> }>(
          { query: 'subscription { systemMetrics { t cpuPercent memoryPercent requestsPerSecond } }' },
          {
            next: (result) => {
              stop();
              if (result.errors) reject(new Error(JSON.stringify(result.errors)));
              else resolve(result.data!.systemMetrics);
            },
            error: reject,
            complete: () => undefined,
          },
        );
      });
      expect(sample).toMatchObject({ t: expect.any(String), cpuPercent: expect.any(Number), requestsPerSecond: expect.any(Number) });
    } finally {
      await client.dispose();
    }
  });

  it('refuses system fields to non-admins', async () => {
    const user = await register(server);
    const res = await server.gql('{ systemStatus { status } }', undefined, { token: user.accessToken });
    expect(errorCodes(res.body)).toEqual(['FORBIDDEN']);
    const anonymous = await server.gql('{ diagnostics { versions { name } } }');
    expect(errorCodes(anonymous.body)).toEqual(['UNAUTHENTICATED']);
  });
});

describe.skipIf(skipSuite())('observability: diagnostics never shows a secret', () => {
  const secrets = {
    JWT_SECRET: 'jwt-secret-for-diagnostics-test-0123456789abcdef',
    METRICS_TOKEN: 'metrics-token-diagnostics-9876543210',
    ALERT_WEBHOOK_URL: 'http://hookuser:hookpassword1@127.0.0.1:9/services/T000/HOOKPATHSECRET?token=querysecret123',
    REDIS_URL: 'redis://default:redispassword1@127.0.0.1:1',
  };
  const dbPassword = 'dbpassword-in-url-42';
  let server: TestServer;
  let admin: Session;
  let diagnostics: Record<string, any>;

  beforeAll(async () => {
    const storage = await createStorage();
    // PostgreSQL here trusts local connections, so a password in the URL is accepted and ignored.
    if (testDb() === 'postgres') storage.env.DATABASE_URL = storage.env.DATABASE_URL!.replace('postgres@', `postgres:${dbPassword}@`);
    server = await TestServer.start(secrets, storage);
    // A dependency error may quote a connection string; recent errors must not repeat its secrets.
    server.app.services.recentErrors.add({
      at: new Date(),
      code: 'INTERNAL_SERVER_ERROR',
      message: `connect failed for ${secrets.ALERT_WEBHOOK_URL} with ${secrets.JWT_SECRET}`,
      operationName: 'Probe',
      requestId: 'req-diagnostics-1',
    });
    admin = await loginAdmin(server);
    const res = await server.gql<{ diagnostics: Record<string, any> }>(DIAGNOSTICS, undefined, { token: admin.accessToken });
    expect(res.body.errors).toBeUndefined();
    diagnostics = res.body.data!.diagnostics;
  }, 60_000);
  afterAll(() => server?.close());

  it('redacts every secret, anywhere in the answer', () => {
    const text = JSON.stringify(diagnostics);
    for (const secret of [
      secrets.JWT_SECRET,
      secrets.METRICS_TOKEN,
      'admin-password-123',
      'hookpassword1',
      'HOOKPATHSECRET',
      'querysecret123',
      'redispassword1',
      dbPassword,
    ]) {
      expect(text).not.toContain(secret);
    }
    const config = Object.fromEntries((diagnostics.config as Array<{ key: string; value: string | null }>).map((e) => [e.key, e.value]));
    expect(config).toMatchObject({
      'jwt.secret': '[redacted]',
      metricsToken: '[redacted]',
      adminPassword: '[redacted]',
      alertWebhookUrl: 'http://[redacted]@127.0.0.1:9/[redacted]?[redacted]',
      redisUrl: 'redis://[redacted]@127.0.0.1:1',
      'jwt.issuer': 'bastion',
      maxQueryDepth: '10',
      'features.ADMIN': 'true',
    });
    if (testDb() === 'postgres') expect(config['databaseUrl']).toMatch(/^postgresql:\/\/\[redacted\]@127\.0\.0\.1:5432\//);
    expect(diagnostics.recentErrors[0]).toMatchObject({ code: 'INTERNAL_SERVER_ERROR', operationName: 'Probe', requestId: 'req-diagnostics-1' });
  });

  it('lists versions and each dependency with its status', () => {
    const versions = Object.fromEntries((diagnostics.versions as Array<{ name: string; version: string }>).map((v) => [v.name, v.version]));
    expect(versions['node']).toBe(process.versions.node);
    expect(versions['graphql']).toMatch(/^16\./);
    expect(versions['prisma']).toMatch(/^7\./);
    expect(versions['bastion']).toMatch(/^\d+\.\d+\.\d+/);
    expect(versions[testDb() === 'postgres' ? 'postgresql' : 'sqlite']).toMatch(/^\d+\.\d+/);
    const dependencies = Object.fromEntries((diagnostics.dependencies as Array<{ name: string }>).map((d) => [d.name, d]));
    expect(dependencies['database']).toMatchObject({ status: 'OK', latencyMs: expect.any(Number) });
    expect(dependencies['redis']).toMatchObject({ status: 'DOWN', latencyMs: null });
    expect(dependencies['alertWebhook']).toMatchObject({ status: 'OK' });
  });

  it('reports DEGRADED while Redis is down', async () => {
    const res = await server.gql<{ systemStatus: { status: string; cache: { status: string } } }>('{ systemStatus { status cache { status } } }', undefined, { token: admin.accessToken });
    expect(res.body.data!.systemStatus).toEqual({ status: 'DEGRADED', cache: { status: 'DOWN' } });
  });
});
