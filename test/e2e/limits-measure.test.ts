import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BuiltServer, operatorEnv } from '../helpers/builtServer.js';
import { ROOT } from '../helpers/process.js';
import { createStorage, GRAPHQL_CLIENT_ACCEPT, loginAdmin, skipSuite, type TestStorage } from '../helpers/server.js';
import { eventually } from '../helpers/wait.js';

/*
 * Limits in measure mode and the cost made visible (issue 19), against the built server as
 * operators run it: an operation over a measured limit runs, is counted per operation and logged
 * once; the same operation under the default enforce mode is refused. Every executed operation's
 * estimated cost goes into a histogram, and into the answer only where that is switched on.
 */

const LIMITS = { MAX_QUERY_DEPTH: '3', MAX_QUERY_COST: '1000', MAX_TOKENS: '100' };

/** Depth 4 (reports → edges → node → author), one more than MAX_QUERY_DEPTH. */
const DEEP = 'query Deep { reports { edges { node { author { id } } } } }';
/** Five pages of 100: 5 × (1 + 100 × 2) = 1005, over MAX_QUERY_COST. */
const PAGE = 'reports(first: 100) { edges { node { id } } }';
const COSTLY = `query Costly { a: ${PAGE} b: ${PAGE} c: ${PAGE} d: ${PAGE} e: ${PAGE} }`;
/** About 125 tokens, over MAX_TOKENS (100) but under the measure-mode ceiling (10 ×). */
const WORDY = `query Wordy { me { ${'id '.repeat(120)}} }`;
/** About 1,100 tokens: past the ceiling the parser stops, whatever the mode. */
const FLOOD = `query Flood { me { ${'id '.repeat(1100)}} }`;
/** A subscription of about 110 tokens, over MAX_TOKENS. */
const WORDY_SUBSCRIPTION = `subscription WordyAlerts { alertRaised { ${'id '.repeat(100)}kind } }`;

async function post(server: BuiltServer, body: unknown, token?: string): Promise<{ status: number; headers: Headers; body: GqlBody }> {
  const res = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: GRAPHQL_CLIENT_ACCEPT, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as GqlBody };
}
interface GqlBody {
  data?: Record<string, unknown> | null;
  errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
  extensions?: Record<string, unknown>;
}

/** What an operator runs: curl -H "Authorization: Bearer $METRICS_TOKEN" $URL/metrics. */
async function scrape(server: BuiltServer): Promise<string> {
  const res = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${server.env['METRICS_TOKEN']}` } });
  expect(res.status).toBe(200);
  return res.text();
}

/** The value of one series in the Prometheus text, or undefined when it is absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}
const measuredCount = async (server: BuiltServer, limit: string) => sample(await scrape(server), `bastion_query_limit_measured_total{limit="${limit}"}`);

/** The warn lines a measured limit logged for one subject (operation name or budget key). */
function measuredLogLines(server: BuiltServer, limit: string, subject: string) {
  return server.logLines().filter((l) => l['limit'] === limit && (l['operation'] === subject || l['key'] === subject) && l['mode'] === 'measure');
}

describe.skipIf(skipSuite())('limits in measure mode: production, LIMITS_MODE=measure', () => {
  let storage: TestStorage;
  let server: BuiltServer;
  let adminToken: string;
  beforeAll(async () => {
    storage = await createStorage();
    server = await BuiltServer.start(operatorEnv(storage, 'production', { ...LIMITS, LIMITS_MODE: 'measure', RATE_LIMIT_PER_MINUTE: '3', EXPOSE_COST: 'true' }));
    adminToken = (await loginAdmin(server)).accessToken;
  });
  afterAll(async () => {
    server?.kill();
    await storage?.dispose();
  });

  it('says at start which limits are only measured', () => {
    const line = server.logLines().find((l) => Array.isArray(l['measuredLimits']));
    expect(line).toMatchObject({ level: 'warn', env: 'production', measuredLimits: ['depth', 'aliases', 'tokens', 'directives', 'cost', 'budget'] });
  });

  it('runs a too-deep query, counts every run and logs it once', async () => {
    const before = (await measuredCount(server, 'depth'))!;
    for (let i = 0; i < 3; i++) {
      const res = await post(server, { query: DEEP }, adminToken);
      expect(res.status).toBe(200);
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data).toEqual({ reports: { edges: [] } });
    }
    expect(await measuredCount(server, 'depth')).toBe(before + 3);
    const lines = await eventually(async () => measuredLogLines(server, 'depth', 'Deep'), (found) => found.length > 0);
    expect(lines).toEqual([expect.objectContaining({ level: 'warn', limit: 'depth', operation: 'Deep', measured: 4, max: 3 })]);
  });

  it('runs a too-costly query, counts it, and shows its cost (EXPOSE_COST=true)', async () => {
    const before = (await measuredCount(server, 'cost'))!;
    const res = await post(server, { query: COSTLY }, adminToken);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data).toHaveProperty('e.edges');
    expect(res.body.extensions?.['cost']).toEqual({ estimated: 1005, limit: 1000 });
    expect(res.headers.get('x-query-cost')).toBe('1005');
    expect(await measuredCount(server, 'cost')).toBe(before + 1);
    await eventually(async () => measuredLogLines(server, 'cost', 'Costly'), (found) => found.length === 1);
    expect(measuredLogLines(server, 'cost', 'Costly')[0]).toMatchObject({ measured: 1005, max: 1000 });
  });

  it('runs a document over MAX_TOKENS, but the parser still stops at ten times it', async () => {
    const before = (await measuredCount(server, 'tokens'))!;
    const res = await post(server, { query: WORDY }, adminToken);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data).toHaveProperty('me.id');
    expect(await measuredCount(server, 'tokens')).toBe(before + 1);
    await eventually(async () => measuredLogLines(server, 'tokens', 'Wordy'), (found) => found.length === 1);

    const flood = await post(server, { query: FLOOD }, adminToken);
    expect(flood.status).toBe(400);
    expect(flood.body.errors?.[0]?.extensions?.['code']).toBe('GRAPHQL_PARSE_FAILED');
    expect(flood.body.errors?.[0]?.message).toMatch(/more that 1000 tokens/);
  });

  it('serves requests over the budget, counting each and logging the key once', async () => {
    const before = (await measuredCount(server, 'budget'))!;
    // RATE_LIMIT_PER_MINUTE=3: at least the last two of five are over the budget, whatever ran before.
    for (let i = 0; i < 5; i++) {
      const res = await post(server, { query: '{ __typename }' });
      expect(res.status).toBe(200);
      expect(res.body.data).toEqual({ __typename: 'Query' });
    }
    expect(await measuredCount(server, 'budget')).toBeGreaterThanOrEqual(before + 2);
    const lines = await eventually(async () => measuredLogLines(server, 'budget', 'ip:127.0.0.1'), (found) => found.length > 0);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'warn', max: 3 });
  });

  it('puts each operation\'s cost in the histogram, labelled "other" for documents that are not trusted', async () => {
    const text = await scrape(server);
    expect(sample(text, 'bastion_operation_cost_count{operation="other"}')).toBeGreaterThan(0);
    expect(sample(text, 'bastion_operation_cost_bucket{le="1000",operation="other"}')).toBeDefined();
    // Client-chosen names never become labels.
    expect(text).not.toMatch(/bastion_operation_cost_count\{operation="(Deep|Costly|Wordy)"/);
  });

  it('measures a subscription over WebSocket alike, with its cost in each event', async () => {
    const before = (await measuredCount(server, 'tokens'))!;
    const client = server.wsClient(adminToken);
    const events: GqlBody[] = [];
    const errors: unknown[] = [];
    const unsubscribe = client.subscribe({ query: WORDY_SUBSCRIPTION }, { next: (value) => void events.push(value as GqlBody), error: (e) => void errors.push(e), complete: () => undefined });
    try {
      await eventually(async () => measuredCount(server, 'tokens'), (count) => count === before + 1);
      const raised = await post(server, { query: 'mutation { raiseAlert(input: { severity: INFO, kind: "MEASURE", message: "measured" }) { id } }' }, adminToken);
      expect(raised.body.errors).toBeUndefined();
      await eventually(async () => events.length, (n) => n > 0);
      expect(errors).toEqual([]);
      expect(events[0]).toMatchObject({ data: { alertRaised: { kind: 'MEASURE' } }, extensions: { cost: { estimated: 1, limit: 1000 } } });
      await eventually(async () => measuredLogLines(server, 'tokens', 'WordyAlerts'), (found) => found.length === 1);
    } finally {
      unsubscribe();
      await client.dispose();
    }
  });
});

describe.skipIf(skipSuite())('limits in enforce mode (the default): production', () => {
  let storage: TestStorage;
  let server: BuiltServer;
  let adminToken: string;
  beforeAll(async () => {
    storage = await createStorage();
    server = await BuiltServer.start(operatorEnv(storage, 'production', { ...LIMITS, RATE_LIMIT_PER_MINUTE: '20' }));
    adminToken = (await loginAdmin(server)).accessToken;
  });
  afterAll(async () => {
    server?.kill();
    await storage?.dispose();
  });

  it('says nothing about measure mode at start', () => {
    expect(server.logLines().some((l) => 'measuredLimits' in l)).toBe(false);
  });

  it('refuses the same depth, cost and tokens, and counts nothing as measured', async () => {
    const deep = await post(server, { query: DEEP }, adminToken);
    expect(deep.status).toBe(400);
    expect(deep.body.errors?.[0]?.extensions?.['code']).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(deep.body.errors?.[0]?.message).toMatch(/exceeds maximum operation depth of 3/);

    const costly = await post(server, { query: COSTLY }, adminToken);
    expect(costly.status).toBe(400);
    expect(costly.body.errors?.[0]?.extensions).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED', limit: 'cost' });

    const wordy = await post(server, { query: WORDY }, adminToken);
    expect(wordy.status).toBe(400);
    expect(wordy.body.errors?.[0]?.extensions?.['code']).toBe('GRAPHQL_PARSE_FAILED');

    const text = await scrape(server);
    for (const limit of ['depth', 'aliases', 'tokens', 'directives', 'cost', 'budget']) {
      expect(sample(text, `bastion_query_limit_measured_total{limit="${limit}"}`)).toBe(0);
    }
  });

  it('refuses operations over the budget with 429', async () => {
    // Keyed by the signed-in admin: 20 per minute, so the 21st is refused at the latest.
    const statuses: number[] = [];
    for (let i = 0; i < 21; i++) statuses.push((await post(server, { query: '{ me { id } }' }, adminToken)).status);
    expect(statuses).toContain(429);
  });

  it('observes the cost of what runs, and shows it to no client', async () => {
    const res = await post(server, { query: '{ __typename }' });
    expect(res.body.data).toEqual({ __typename: 'Query' });
    expect(res.body.extensions?.['cost']).toBeUndefined();
    expect(res.headers.get('x-query-cost')).toBeNull();
    expect(sample(await scrape(server), 'bastion_operation_cost_count{operation="other"}')).toBeGreaterThan(0);
  });
});

const MANIFEST = path.join(ROOT, 'client', 'generated', 'persisted-query-manifest.json');
const manifest = JSON.parse(readFileSync(MANIFEST, 'utf8')) as { operations: Array<{ id: string; name: string }> };
const documentIdOf = (name: string) => `sha256:${manifest.operations.find((op) => op.name === name)!.id}`;

describe.skipIf(skipSuite())('cost made visible: development, with trusted documents', () => {
  let storage: TestStorage;
  let server: BuiltServer;
  beforeAll(async () => {
    storage = await createStorage();
    server = await BuiltServer.start(operatorEnv(storage, 'development', { TRUSTED_DOCUMENTS: MANIFEST }));
  });
  afterAll(async () => {
    server?.kill();
    await storage?.dispose();
  });

  it('shows the cost in development without EXPOSE_COST, and labels trusted documents by name', async () => {
    const login = await post(server, { documentId: documentIdOf('Login'), variables: { input: { login: 'admin@example.com', password: 'admin-password-123' } } });
    const token = (login.body.data?.['login'] as { accessToken: string }).accessToken;
    const me = await post(server, { documentId: documentIdOf('Me') }, token);
    expect(me.body.errors).toBeUndefined();
    const estimated = (me.body.extensions?.['cost'] as { estimated: number }).estimated;
    expect(estimated).toBeGreaterThan(0);
    expect(me.headers.get('x-query-cost')).toBe(String(estimated));

    const text = await scrape(server);
    expect(sample(text, 'bastion_operation_cost_count{operation="Me"}')).toBe(1);
    expect(sample(text, 'bastion_operation_cost_sum{operation="Me"}')).toBe(estimated);
    expect(sample(text, 'bastion_operation_cost_count{operation="Login"}')).toBe(1);
    expect(text).not.toContain('bastion_operation_cost_count{operation="other"}');
  });
});
