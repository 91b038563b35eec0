import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BuiltServer, operatorEnv } from '../helpers/builtServer.js';
import { createStorage, loginAdmin, skipSuite, type TestStorage } from '../helpers/server.js';
import { eventually } from '../helpers/wait.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const BAD_ENUM_SUBSCRIPTION = 'subscription Alerts($min: AlertSeverity) { alertRaised(minSeverity: $min) { id } }';

/** Every kind of anonymous client mistake, each with the code it must answer. */
const MISTAKES: Array<{ name: string; body: unknown; code: string }> = [
  { name: 'unknown persisted-query hash', body: { extensions: { persistedQuery: { version: 1, sha256Hash: sha256('never registered') } } }, code: 'PERSISTED_QUERY_NOT_FOUND' },
  {
    name: 'document with a mismatched hash',
    body: { query: '{ __typename }', extensions: { persistedQuery: { version: 1, sha256Hash: sha256('{ other }') } } },
    code: 'PERSISTED_QUERY_NOT_FOUND',
  },
  { name: 'unsupported persisted-query version', body: { query: '{ __typename }', extensions: { persistedQuery: { version: 2, sha256Hash: sha256('{ __typename }') } } }, code: 'BAD_USER_INPUT' },
  { name: 'parse failure', body: { query: '{ me ' }, code: 'GRAPHQL_PARSE_FAILED' },
  { name: 'validation failure', body: { query: '{ nope }' }, code: 'GRAPHQL_VALIDATION_FAILED' },
  {
    name: 'bad enum variable',
    body: { query: 'query R($s: ReportStatus) { reports(filter: { status: $s }) { totalCount } }', variables: { s: 'NOPE' } },
    code: 'BAD_USER_INPUT',
  },
];

async function post(url: string, body: unknown) {
  // As Apollo Client 4 sends it: with application/graphql-response+json, request errors keep their 4xx.
  const headers = { 'content-type': 'application/json', accept: 'application/graphql-response+json,application/json;q=0.9' };
  const res = await fetch(`${url}/graphql`, { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as { errors?: Array<{ extensions?: { code?: string } }> } };
}

describe.skipIf(skipSuite())('client mistakes are client errors (production server)', () => {
  let storage: TestStorage;
  let server: BuiltServer;
  beforeAll(async () => {
    storage = await createStorage();
    server = await BuiltServer.start(operatorEnv(storage, 'production', { METRICS_SAMPLE_INTERVAL: '1' }));
  });
  afterAll(async () => {
    server?.kill();
    await storage?.dispose();
  });

  it('answers each mistake with a 4xx (or APQ protocol 200) and a closed-set code, HTTP and WebSocket alike', async () => {
    for (const mistake of MISTAKES) {
      const res = await post(server.url, mistake.body);
      expect(res.body.errors?.map((e) => e.extensions?.code), mistake.name).toEqual([mistake.code]);
      // Apollo answers an APQ miss with 200 by protocol: the client then sends the document.
      if (mistake.name === 'unknown persisted-query hash') expect(res.status).toBe(200);
      else expect(res.status, mistake.name).toBe(400);
    }
    const client = server.wsClient();
    try {
      const errors = await new Promise<unknown>((resolve) => {
        client.subscribe({ query: BAD_ENUM_SUBSCRIPTION, variables: { min: 'NOPE' } }, { next: resolve, error: resolve, complete: () => undefined });
      });
      // A refusal at subscribe time is an `error` message (a list); a result would be a `next` with errors.
      const list = (Array.isArray(errors) ? errors : (errors as { errors?: unknown[] }).errors) as Array<{ extensions?: { code?: string } }>;
      expect(list.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    } finally {
      await client.dispose();
    }
  });

  it('raises no alert, counts no server error, fills no recentErrors and logs nothing at error level under a flood', async () => {
    const admin = await loginAdmin(server);
    const floodStart = new Date();
    const client = server.wsClient();
    try {
      for (let round = 0; round < 25; round++) {
        await Promise.all(MISTAKES.map((m) => post(server.url, m.body)));
        await new Promise<unknown>((resolve) => {
          client.subscribe({ query: BAD_ENUM_SUBSCRIPTION, variables: { min: 'NOPE' } }, { next: resolve, error: resolve, complete: () => undefined });
        });
      }
    } finally {
      await client.dispose();
    }
    const floodEnd = new Date();

    // Two samples taken after the flood: the alert engine has judged every interval that saw it.
    const HISTORY = 'query H($range: TimeRangeInput!) { systemMetricsHistory(range: $range) { t errorRate } }';
    const samples = await eventually(
      async () =>
        (await server.gql<{ systemMetricsHistory: Array<{ t: string; errorRate: number }> }>(HISTORY, { range: { from: floodStart.toISOString() } }, { token: admin.accessToken }))
          .body.data!.systemMetricsHistory,
      (list) => list.filter((s) => new Date(s.t) > floodEnd).length >= 2,
      30_000,
    );
    expect(samples.map((s) => s.errorRate)).toEqual(samples.map(() => 0));

    const status = await server.gql<{ alerts: Array<{ kind: string; severity: string }>; diagnostics: { recentErrors: unknown[] } }>(
      '{ alerts(first: 100) { kind severity } diagnostics { recentErrors { code message } } }',
      undefined,
      { token: admin.accessToken },
    );
    expect(status.body.errors).toBeUndefined();
    expect(status.body.data!.alerts.filter((a) => a.kind === 'ERROR_RATE')).toEqual([]);
    expect(status.body.data!.diagnostics.recentErrors).toEqual([]);

    const metrics = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${server.env['METRICS_TOKEN']}` } })).text();
    const serverErrors = metrics.match(/^bastion_graphql_errors_total\{code="INTERNAL_SERVER_ERROR"\} (\d+)/m);
    expect(Number(serverErrors?.[1] ?? 0)).toBe(0);

    const errorLines = server.logLines().filter((line) => line['level'] === 'error' || line['level'] === 'fatal');
    expect(errorLines).toEqual([]);
  });
});
