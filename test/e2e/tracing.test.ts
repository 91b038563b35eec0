import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BuiltServer, operatorEnv } from '../helpers/builtServer.js';
import { OtlpReceiver, type ReceivedSpan } from '../helpers/otlpReceiver.js';
import { ROOT } from '../helpers/process.js';
import { createStorage, loginAdmin, register, skipSuite, uniqueUser, type Session, type TestStorage } from '../helpers/server.js';
import { eventually } from '../helpers/wait.js';

/*
 * Issue 19, OpenTelemetry traces: the built server, run as operators run it, exports to a small
 * OTLP/HTTP receiver in this process. Secrets sent in these requests (the password, the tokens,
 * the variables' values) are searched for in every attribute of every span.
 */

const RECORD_IMPORTS = pathToFileURL(path.join(ROOT, 'test/helpers/recordImports.mjs')).href;

/** Each server's own record of the modules it loaded (test/helpers/recordImports.mjs). */
function importRecorder(name: string): { env: Record<string, string>; modules: () => string[]; dispose: () => void } {
  const file = path.join(os.tmpdir(), `bastion-imports-${name}-${randomBytes(4).toString('hex')}.txt`);
  rmSync(file, { force: true });
  return {
    env: { NODE_OPTIONS: `--import ${RECORD_IMPORTS}`, RECORD_IMPORTS_TO: file },
    modules: () => readFileSync(file, 'utf8').split('\n').filter(Boolean),
    dispose: () => rmSync(file, { force: true }),
  };
}

const OPEN_TELEMETRY_MODULE = /@opentelemetry\/|@prisma\/instrumentation/;
/** Bastion's modules that create spans, loaded only when tracing is on. */
const TRACING_MODULE = /\/dist\/src\/(graphql\/tracing|http\/tracing|observability\/openTelemetry)\.js$/;

const CREATE_REPORT = `mutation TracedCreate($input: CreateReportInput!) { createReport(input: $input) { id } }`;
const REPORTS = `query TracedReports($first: Int) { reports(first: $first) { edges { node { id title author { id username } } } } }`;
const ALERT_RAISED = `subscription TracedAlerts { alertRaised { id kind } }`;
const RAISE = `mutation TracedRaise($input: RaiseAlertInput!) { raiseAlert(input: $input) { id } }`;

const randomHex = (bytes: number) => randomBytes(bytes).toString('hex');
const traceparent = (traceId: string, spanId: string) => `00-${traceId}-${spanId}-01`;

function childrenOf(spans: ReceivedSpan[], parent: ReceivedSpan): ReceivedSpan[] {
  return spans.filter((span) => span.parentSpanId === parent.spanId);
}

function descendantsOf(spans: ReceivedSpan[], parent: ReceivedSpan): ReceivedSpan[] {
  const found: ReceivedSpan[] = [];
  for (const child of childrenOf(spans, parent)) found.push(child, ...descendantsOf(spans, child));
  return found;
}

function only(spans: ReceivedSpan[], name: string): ReceivedSpan {
  const matching = spans.filter((span) => span.name === name);
  expect(matching.map((span) => span.name), `exactly one "${name}" span among ${spans.map((s) => s.name).join(', ')}`).toEqual([name]);
  return matching[0]!;
}

describe.skipIf(skipSuite())('OpenTelemetry traces', () => {
  let receiver: OtlpReceiver;
  let storage: TestStorage;
  let server: BuiltServer;
  const imports = importRecorder('tracing-on');

  beforeAll(async () => {
    receiver = await OtlpReceiver.start();
    storage = await createStorage();
    server = await BuiltServer.start(
      operatorEnv(storage, 'production', {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_BSP_SCHEDULE_DELAY: '100',
        TRUSTED_PROXIES: '127.0.0.1',
        LOG_LEVEL: 'debug',
        ...imports.env,
      }),
    );
  });
  afterAll(async () => {
    server?.kill();
    imports.dispose();
    await receiver?.close();
    await storage?.dispose();
  });

  /** The spans of the request whose `x-request-id` is given, once its HTTP span has arrived. */
  async function traceOf(requestId: string): Promise<{ http: ReceivedSpan; spans: ReceivedSpan[] }> {
    const http = await eventually(
      async () => receiver.spans().find((span) => span.attributes['bastion.request_id'] === requestId && span.name.startsWith('POST')),
      (span) => span !== undefined,
    );
    // The operation's spans end before the HTTP span; one more export interval for stragglers.
    await new Promise((resolve) => setTimeout(resolve, 300));
    return { http: http!, spans: receiver.spans().filter((span) => span.traceId === http!.traceId) };
  }

  const secrets: string[] = [];
  let author: Session & { password: string };

  it('traces a query that reaches the database: HTTP → operation → parse/validate/execute → resolver → Prisma → SQL, one trace id', async () => {
    const user = { ...uniqueUser('traced'), password: `pw-${randomHex(12)}` };
    author = await register(server, user);
    const title = `title-${randomHex(8)}`;
    const created = await server.gql(CREATE_REPORT, { input: { title, body: `body-${randomHex(8)}` } }, { token: author.accessToken });
    expect(created.body.errors).toBeUndefined();
    secrets.push(user.password, author.accessToken, author.refreshToken, title);

    const response = await server.gql<{ reports: { edges: unknown[] } }>(REPORTS, { first: 7 }, { token: author.accessToken });
    expect(response.body.data?.reports.edges).toHaveLength(1);
    const requestId = response.headers.get('x-request-id')!;
    const { http, spans } = await traceOf(requestId);

    expect(http).toMatchObject({ name: 'POST /graphql', kind: 2 /* SERVER */, parentSpanId: undefined });
    expect(http.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.route': '/graphql', 'http.response.status_code': 200 });

    const operation = only(childrenOf(spans, http), 'query TracedReports');
    expect(operation.attributes).toMatchObject({ 'graphql.operation.type': 'query', 'graphql.operation.name': 'TracedReports', 'graphql.document.cached': false });
    const phases = childrenOf(spans, operation).map((span) => span.name);
    expect(phases.sort()).toEqual(['graphql.execute', 'graphql.parse', 'graphql.validate']);
    const execute = only(childrenOf(spans, operation), 'graphql.execute');

    // Resolver spans: the root field and the object-valued field with its own resolver, not every field.
    const resolvers = childrenOf(spans, execute);
    expect(resolvers.map((span) => span.name).sort()).toEqual(['Query.reports', 'Report.author']);
    const reports = only(resolvers, 'Query.reports');
    expect(reports.attributes).toMatchObject({ 'graphql.field.name': 'reports', 'graphql.field.path': 'reports' });
    expect(only(resolvers, 'Report.author').attributes['graphql.field.path']).toBe('reports.edges.0.node.author');

    // Database spans under the resolver that ran them (Prisma's instrumentation: client operation → SQL statement).
    const statements = descendantsOf(spans, reports).filter((span) => span.name === 'prisma:client:db_query');
    expect(statements.length).toBeGreaterThan(0);
    expect(String(statements[0]!.attributes['db.query.text'])).toMatch(/Report/);
    expect(statements[0]!.attributes['db.system.name']).toBe(process.env.TEST_DB === 'postgres' ? 'postgresql' : 'sqlite');

    // Authentication ran before GraphQL: its database work (if any) sits under the HTTP span, not elsewhere.
    for (const span of spans) expect(span.traceId).toBe(http.traceId);

    // The request's log line carries the trace id next to the request id.
    const line = await eventually(
      async () => server.logLines().find((l) => l['reqId'] === requestId && l['msg'] === 'request completed'),
      (l) => l !== undefined,
    );
    expect(line).toMatchObject({ trace_id: http.traceId, span_id: http.spanId });
    // Outside any span a line has no trace id, and no line inherits another line's fields.
    const listening = server.logLines().find((l) => l['msg'] === 'listening')!;
    expect(listening).not.toHaveProperty('trace_id');
    expect(listening).not.toHaveProperty('userId'); // the bootstrap line's field, logged just before
  });

  it('continues the trace of an incoming traceparent from a trusted proxy (TRUSTED_PROXIES has 127.0.0.1)', async () => {
    const [traceId, parentId] = [randomHex(16), randomHex(8)];
    const response = await server.gql(REPORTS, { first: 3 }, { token: author.accessToken, headers: { traceparent: traceparent(traceId, parentId) } });
    const { http, spans } = await traceOf(response.headers.get('x-request-id')!);
    expect(http.traceId).toBe(traceId);
    expect(http.parentSpanId).toBe(parentId);
    expect(spans.map((span) => span.name)).toContain('Query.reports');
  });

  it('traces a subscription: a span per subscribe, its subscribe resolver, and a span per event delivered', async () => {
    const admin = await loginAdmin(server);
    secrets.push(admin.accessToken, admin.refreshToken);
    const client: Client = server.wsClient(admin.accessToken);
    const events: unknown[] = [];
    const dispose = client.subscribe({ query: ALERT_RAISED }, { next: (event) => void events.push(event), error: () => undefined, complete: () => undefined });
    // graphql-ws acknowledges nothing on subscribe: raise alerts until one arrives.
    await eventually(
      async () => {
        await server.gql(RAISE, { input: { severity: 'INFO', kind: `TRACED_${randomHex(4).toUpperCase()}`, message: 'traced' } }, { token: admin.accessToken });
        return events.length;
      },
      (count) => count > 0,
    );
    dispose();
    await client.dispose();

    const subscription = await eventually(
      async () => receiver.spans().find((span) => span.name === 'subscription TracedAlerts'),
      (span) => span !== undefined,
    );
    expect(subscription!.attributes).toMatchObject({ 'graphql.operation.type': 'subscription', 'graphql.operation.name': 'TracedAlerts' });
    const children = await eventually(
      async () => childrenOf(receiver.spans(), subscription!),
      (spans) => spans.some((span) => span.name === 'deliver TracedAlerts'),
    );
    expect(children.map((span) => span.name)).toContain('Subscription.alertRaised');
    const delivery = children.find((span) => span.name === 'deliver TracedAlerts')!;
    expect(delivery.traceId).toBe(subscription!.traceId);
    expect(delivery.attributes['graphql.operation.name']).toBe('TracedAlerts');
  });

  it('never records a token, a password or a variable value in any span', async () => {
    // A search whose words exist nowhere else, and a failed login with yet another password.
    const word = `needle${randomHex(6)}`;
    const wrongPassword = `wrong-${randomHex(10)}`;
    const search = await server.gql(`query TracedSearch($filter: ReportFilter) { reports(filter: $filter) { edges { node { id } } } }`, { filter: { search: word } }, { token: author.accessToken });
    // The search's statement has its span too (on SQLite it runs in a worker thread, outside Prisma).
    const { spans } = await traceOf(search.headers.get('x-request-id')!);
    const statements = descendantsOf(spans, only(spans, 'Query.reports')).filter((span) => /(^|:)db_query$/.test(span.name));
    expect(statements.some((span) => /search|LIKE|Report/i.test(String(span.attributes['db.query.text'])))).toBe(true);
    await server.gql(`mutation TracedLogin($input: LoginInput!) { login(input: $input) { accessToken } }`, { input: { login: author.user.email, password: wrongPassword } });
    secrets.push(word, wrongPassword, author.accessToken.split('.')[2]!);
    await new Promise((resolve) => setTimeout(resolve, 600));

    const everything = JSON.stringify(receiver.spans().map((span) => span.raw));
    expect(receiver.spans().length).toBeGreaterThan(20);
    for (const secret of secrets) expect(everything, 'a secret in a span').not.toContain(secret);
    // Nor the password's e-mail-free parts in any encoding a JSON export would use.
    expect(everything).not.toMatch(/authorization|bearer/i);
  });

  it('loads the tracing modules and the SDK (the control for the test without tracing)', () => {
    const loaded = imports.modules();
    expect(new Set(loaded.filter((m) => TRACING_MODULE.test(m))).size).toBe(3);
    expect(loaded.some((m) => m.includes('/node_modules/@opentelemetry/sdk-trace-node/'))).toBe(true);
  });
});

describe.skipIf(skipSuite())('OpenTelemetry traces, default protocol, no trusted proxy', () => {
  let receiver: OtlpReceiver;
  let storage: TestStorage;
  let server: BuiltServer;

  beforeAll(async () => {
    receiver = await OtlpReceiver.start();
    storage = await createStorage();
    // Batches wait ten minutes: only the drain's last export can deliver this test's spans.
    server = await BuiltServer.start(operatorEnv(storage, 'production', { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '600000', LOG_LEVEL: 'debug' }));
  });
  afterAll(async () => {
    server?.kill();
    await receiver?.close();
    await storage?.dispose();
  });

  it('ignores an incoming traceparent from a client that is not a trusted proxy; exports protobuf to /v1/traces, the last spans when it drains', async () => {
    const [traceId, parentId] = [randomHex(16), randomHex(8)];
    const response = await server.gql(`query Untrusted { __typename }`, undefined, { headers: { traceparent: traceparent(traceId, parentId) } });
    expect(response.status).toBe(200);
    const requestId = response.headers.get('x-request-id')!;
    const line = await eventually(
      async () => server.logLines().find((l) => l['reqId'] === requestId && l['msg'] === 'request completed'),
      (l) => l !== undefined,
    );
    const ownTraceId = String(line!['trace_id']);
    expect(ownTraceId).toMatch(/^[0-9a-f]{32}$/);
    expect(ownTraceId).not.toBe(traceId);

    // SIGTERM: the drain sends what is buffered, then the process exits 0.
    expect(receiver.exports).toEqual([]);
    expect(await server.stop('SIGTERM')).toBe(0);
    // The request's spans arrived as OTLP protobuf, which carries trace ids as raw bytes.
    expect(receiver.exports.some((e) => e.body.includes(Buffer.from(ownTraceId, 'hex')))).toBe(true);
    for (const received of receiver.exports) {
      expect(received).toMatchObject({ path: '/v1/traces', contentType: 'application/x-protobuf' });
      expect(received.body.includes(Buffer.from(traceId, 'hex')), 'the untrusted trace id').toBe(false);
      expect(received.body.includes(Buffer.from(parentId, 'hex')), 'the untrusted parent span id').toBe(false);
    }
  });
});

describe.skipIf(skipSuite())('without OTEL_EXPORTER_OTLP_ENDPOINT', () => {
  it('loads nothing of OpenTelemetry, serving requests as usual', async () => {
    const storage = await createStorage();
    const imports = importRecorder('tracing-off');
    const server = await BuiltServer.start(operatorEnv(storage, 'production', imports.env));
    try {
      const session = await register(server);
      const response = await server.gql(REPORTS, { first: 1 }, { token: session.accessToken, headers: { traceparent: traceparent(randomHex(16), randomHex(8)) } });
      expect(response.body.errors).toBeUndefined();
      expect(server.logLines().some((line) => 'trace_id' in line)).toBe(false);
      const loaded = imports.modules();
      expect(loaded.some((m) => m.endsWith('/dist/src/app.js'))).toBe(true);
      // None of the modules that create spans, nor the SDK, exporters or instrumentations.
      expect(loaded.filter((m) => TRACING_MODULE.test(m))).toEqual([]);
      expect(loaded.filter((m) => OPEN_TELEMETRY_MODULE.test(m) && !m.includes('/node_modules/@opentelemetry/api/'))).toEqual([]);
      // The one exception, as before tracing existed: prom-client 15 requires the (no-op) API at import, for exemplars.
      const firstApiModule = loaded.findIndex((m) => m.includes('/node_modules/@opentelemetry/api/'));
      if (firstApiModule >= 0) expect(loaded[firstApiModule - 1]).toMatch(/\/node_modules\/prom-client\//);
    } finally {
      server.kill();
      imports.dispose();
      await storage.dispose();
    }
  });
});
