import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client, SubscribePayload } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILT_SERVER, BuiltServer, operatorEnv } from '../helpers/builtServer.js';
import { ROOT, spawnServer } from '../helpers/process.js';
import { ADMIN, createStorage, skipSuite, type TestStorage } from '../helpers/server.js';

/*
 * Trusted documents rolled out in stages, against the built server in production mode, as an
 * operator runs it: log-unknown, enforce, require-id, a reload on SIGHUP (HTTP and WebSocket),
 * a manifest refused at start, and TRUSTED_DOCUMENTS_SKIP_LIMITS.
 */

interface ManifestOperation {
  id: string;
  name: string;
  type: string;
  body: string;
}
const CODEGEN_MANIFEST = path.join(ROOT, 'client', 'generated', 'persisted-query-manifest.json');
const codegen = (JSON.parse(readFileSync(CODEGEN_MANIFEST, 'utf8')) as { operations: ManifestOperation[] }).operations;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const op = (name: string): ManifestOperation => {
  const found = codegen.find((o) => o.name === name);
  if (!found) throw new Error(`${name} is not in the codegen manifest`);
  return found;
};
const custom = (name: string, type: string, body: string): ManifestOperation => ({ id: sha256(body), name, type, body });
const manifest = (operations: ManifestOperation[]) => JSON.stringify({ format: 'apollo-persisted-query-manifest', version: 1, operations });

/** Deeper than MAX_QUERY_DEPTH=3 (which every server here sets: the few operations taken from the codegen manifest are within it), valid otherwise. */
const DEEP = custom('Deep', 'query', 'query Deep { reports { edges { node { author { id } } } } }');
/** A document the schema does not have (any more). */
const BROKEN = custom('Broken', 'query', 'query Broken { me { nickname } }');

const dir = mkdtempSync(path.join(os.tmpdir(), 'bastion-trusted-modes-'));
let files = 0;
function manifestFile(operations: ManifestOperation[]): string {
  const file = path.join(dir, `manifest-${++files}.json`);
  writeFileSync(file, manifest(operations));
  return file;
}

type Body = { data?: Record<string, unknown> | null; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };
async function post(server: BuiltServer, body: unknown, token?: string): Promise<{ status: number; body: Body }> {
  const res = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Body };
}
const codes = (body: Body) => (body.errors ?? []).map((e) => e.extensions?.['code']);
const byId = (operation: ManifestOperation, variables?: Record<string, unknown>) => ({ documentId: `sha256:${operation.id}`, variables });
const LOGIN_VARIABLES = { input: { login: ADMIN.email, password: ADMIN.password } };

async function adminToken(server: BuiltServer): Promise<string> {
  const res = await post(server, byId(op('Login'), LOGIN_VARIABLES));
  const token = (res.body.data?.['login'] as { accessToken?: string } | undefined)?.accessToken;
  if (!token) throw new Error(`login failed: ${JSON.stringify(res.body)}`);
  return token;
}

async function metricsOf(server: BuiltServer): Promise<string> {
  const res = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${server.env['METRICS_TOKEN']}` } });
  expect(res.status).toBe(200);
  return res.text();
}
const metricValue = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

/** Waits (bounded) until the server has logged `count` lines with this message prefix. */
async function waitForLog(server: BuiltServer, prefix: string, count = 1): Promise<Array<Record<string, unknown>>> {
  for (let i = 0; i < 200; i++) {
    const lines = server.logLines().filter((l) => String(l['msg']).startsWith(prefix));
    if (lines.length >= count) return lines;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no "${prefix}" log line (#${count}):\n${server.output()}`);
}

/** Sends SIGHUP and waits for the reload's outcome in the log. */
async function reload(server: BuiltServer, expected: 'reloaded' | 'refused'): Promise<Record<string, unknown>> {
  const prefix = expected === 'reloaded' ? 'trusted documents reloaded' : 'trusted documents: reload refused';
  const before = server.logLines().filter((l) => String(l['msg']).startsWith(prefix)).length;
  server.process.child.kill('SIGHUP');
  return (await waitForLog(server, prefix, before + 1)).at(-1)!;
}

/** The subscription's first event, or its errors if it is refused. */
function firstResult(client: Client, payload: SubscribePayload): Promise<{ data?: unknown; errors?: unknown }> {
  return new Promise((resolve) => {
    const dispose = client.subscribe(payload, {
      next: (value) => {
        dispose();
        resolve(value as { data?: unknown });
      },
      error: (errors) => resolve({ errors }),
      complete: () => undefined,
    });
  });
}

/** Subscribes to AlertRaised and raises alerts (by id) until the subscription delivers one. */
async function alertDelivered(server: BuiltServer, client: Client, payload: SubscribePayload, token: string): Promise<{ data?: unknown; errors?: unknown }> {
  const result = firstResult(client, payload);
  let settled: { data?: unknown; errors?: unknown } | undefined;
  void result.then((value) => (settled = value));
  for (let i = 0; i < 100 && settled === undefined; i++) {
    const raised = await post(server, byId(op('RaiseAlert'), { input: { severity: 'INFO', kind: `TRUSTED_${Date.now()}_${i}`, message: 'reload test' } }), token);
    expect(raised.body.errors).toBeUndefined();
    await new Promise((r) => setTimeout(r, 100));
  }
  return result;
}

describe.skipIf(skipSuite())('trusted documents rolled out in stages (built server, production)', () => {
  let storage: TestStorage;
  beforeAll(async () => {
    storage = await createStorage();
  });
  afterAll(async () => {
    await storage?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  const start = (env: Record<string, string>) => BuiltServer.start(operatorEnv(storage, 'production', { MAX_QUERY_DEPTH: '3', ...env }));

  describe('TRUSTED_DOCUMENTS_MODE=log-unknown', () => {
    let server: BuiltServer;
    beforeAll(async () => {
      server = await start({ TRUSTED_DOCUMENTS: manifestFile([op('Login'), op('Me')]), TRUSTED_DOCUMENTS_MODE: 'log-unknown' });
    });
    afterAll(() => server?.kill());

    it('runs an unknown operation, counts every one, and logs it once however often it is sent', async () => {
      const unknown = 'query NotInTheList { __typename }';
      for (let i = 0; i < 6; i++) {
        const res = await post(server, { query: unknown, operationName: 'NotInTheList' });
        expect(res.status).toBe(200);
        expect(res.body.data).toEqual({ __typename: 'Query' });
      }
      const metrics = await metricsOf(server);
      expect(metricValue(metrics, 'bastion_trusted_documents_requests_total{outcome="unknown"}')).toBeGreaterThanOrEqual(6);
      expect(metricValue(metrics, 'bastion_trusted_documents_unknown_distinct')).toBeGreaterThanOrEqual(1);
      const logged = server.logLines().filter((l) => String(l['msg']).startsWith('unknown operation:') && l['documentId'] === `sha256:${sha256(unknown)}`);
      expect(logged).toHaveLength(1);
      expect(logged[0]).toMatchObject({ level: 'warn', operationName: 'NotInTheList' });
      expect(JSON.stringify(logged[0])).not.toContain('__typename'); // the text is not logged
    });

    it('runs a trusted operation, by id and as text, counted as trusted', async () => {
      const before = metricValue(await metricsOf(server), 'bastion_trusted_documents_requests_total{outcome="trusted"}') ?? 0;
      const token = await adminToken(server);
      const me = await post(server, { query: op('Me').body }, token);
      expect(me.body.data?.['me']).toMatchObject({ email: ADMIN.email });
      expect(metricValue(await metricsOf(server), 'bastion_trusted_documents_requests_total{outcome="trusted"}')).toBe(before + 2);
    });

    it('keeps every query limit on unknown operations', async () => {
      const token = await adminToken(server);
      const deep = await post(server, { query: DEEP.body }, token);
      expect(codes(deep.body)).toContain('GRAPHQL_VALIDATION_FAILED');
    });
  });

  describe('TRUSTED_DOCUMENTS_MODE=enforce (the default), and reloads on SIGHUP', () => {
    let server: BuiltServer;
    let file: string;
    beforeAll(async () => {
      file = manifestFile([op('Login'), op('Me'), op('RaiseAlert')]);
      server = await start({ TRUSTED_DOCUMENTS: file });
    });
    afterAll(() => server?.kill());

    it('runs the list by id, APQ hash or exact text, and refuses anything else', async () => {
      expect(server.logLines().find((l) => String(l['msg']).startsWith('trusted documents loaded'))).toMatchObject({ mode: 'enforce', operations: 3 });
      const token = await adminToken(server);
      const apq = await post(server, { extensions: { persistedQuery: { version: 1, sha256Hash: op('Me').id } } }, token);
      expect(apq.body.data?.['me']).toMatchObject({ email: ADMIN.email });
      const text = await post(server, { query: op('Me').body }, token);
      expect(text.body.data?.['me']).toMatchObject({ email: ADMIN.email });
      const other = await post(server, { query: '{ __typename }' });
      expect([other.status, codes(other.body)]).toEqual([403, ['FORBIDDEN']]);
      const unknownId = await post(server, { documentId: `sha256:${sha256('nope')}` });
      expect([unknownId.status, codes(unknownId.body)]).toEqual([404, ['PERSISTED_QUERY_NOT_FOUND']]);
    });

    it('reloads the manifest on SIGHUP: an added operation runs, a removed one is refused, over HTTP and WebSocket', async () => {
      const token = await adminToken(server);
      const client = server.wsClient(token);
      try {
        const subscribe = { query: op('AlertRaised').body };
        expect(JSON.stringify((await firstResult(client, subscribe)).errors)).toContain('FORBIDDEN');

        writeFileSync(file, manifest([op('Login'), op('RaiseAlert'), op('AlertRaised')]));
        expect(await reload(server, 'reloaded')).toMatchObject({ operations: 3 });

        const me = await post(server, byId(op('Me')), token);
        expect([me.status, codes(me.body)]).toEqual([404, ['PERSISTED_QUERY_NOT_FOUND']]);
        const meText = await post(server, { query: op('Me').body }, token);
        expect([meText.status, codes(meText.body)]).toEqual([403, ['FORBIDDEN']]);
        const delivered = await alertDelivered(server, client, subscribe, token);
        expect(delivered.errors).toBeUndefined();
        expect(delivered.data).toMatchObject({ alertRaised: { severity: 'INFO', message: 'reload test' } });
      } finally {
        await client.dispose();
      }
      expect(server.process.child.exitCode).toBeNull(); // SIGHUP never stops the server
    });

    it('refuses a reload whose manifest fails, names the failing operation, and keeps serving the list in force', async () => {
      writeFileSync(file, manifest([op('Login'), op('RaiseAlert'), op('AlertRaised'), op('Me'), BROKEN]));
      const refused = await reload(server, 'refused');
      expect(refused).toMatchObject({ level: 'error', inForce: 3 });
      expect(String(refused['msg'])).toMatch(/operation Broken \(sha256:[0-9a-f]{12}…\): Cannot query field "nickname" on type "User"/);
      writeFileSync(file, '{ "format": "apollo-persisted-query-manifest", "vers');
      expect(String((await reload(server, 'refused'))['msg'])).toMatch(/readable JSON manifest/);

      // The list in force is the last good one: Me (only in the refused manifest) is still refused.
      const token = await adminToken(server);
      const me = await post(server, byId(op('Me')), token);
      expect(codes(me.body)).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
      const client = server.wsClient(token);
      try {
        expect((await alertDelivered(server, client, { query: op('AlertRaised').body }, token)).errors).toBeUndefined();
      } finally {
        await client.dispose();
      }
      const metrics = await metricsOf(server);
      expect(metricValue(metrics, 'bastion_trusted_documents_reloads_total{result="failure"}')).toBe(2);
      expect(metricValue(metrics, 'bastion_trusted_documents_reloads_total{result="success"}')).toBe(1);
      expect(metricValue(metrics, 'bastion_trusted_documents_loaded')).toBe(3);
    });
  });

  describe('TRUSTED_DOCUMENTS_MODE=require-id', () => {
    let server: BuiltServer;
    beforeAll(async () => {
      server = await start({ TRUSTED_DOCUMENTS: manifestFile([op('Login'), op('Me'), op('RaiseAlert'), op('AlertRaised')]), TRUSTED_DOCUMENTS_MODE: 'require-id' });
    });
    afterAll(() => server?.kill());

    it('runs the list sent by documentId or APQ hash', async () => {
      const token = await adminToken(server);
      const apq = await post(server, { extensions: { persistedQuery: { version: 1, sha256Hash: op('Me').id } } }, token);
      expect(apq.body.data?.['me']).toMatchObject({ email: ADMIN.email });
    });

    it("refuses document text, the list's own included, with the same answer as any other text", async () => {
      const trustedText = await post(server, { query: op('Login').body, variables: LOGIN_VARIABLES });
      const otherText = await post(server, { query: '{ __typename }' });
      expect([trustedText.status, codes(trustedText.body)]).toEqual([403, ['FORBIDDEN']]);
      expect(trustedText.body.data ?? null).toBeNull();
      expect(otherText.body.errors?.[0]?.message).toBe(trustedText.body.errors?.[0]?.message);
      expect(trustedText.body.errors?.[0]?.message).toMatch(/by id only/);
    });

    it('over WebSocket too: a subscription by id runs, its text is refused', async () => {
      const token = await adminToken(server);
      const client = server.wsClient(token);
      try {
        const text = await firstResult(client, { query: op('AlertRaised').body });
        expect(JSON.stringify(text.errors)).toContain('FORBIDDEN');
        // graphql-ws requires a `query` string: an empty one with the id in the APQ extension.
        const viaId = { query: '', extensions: { persistedQuery: { version: 1, sha256Hash: op('AlertRaised').id } } };
        expect((await alertDelivered(server, client, viaId, token)).errors).toBeUndefined();
      } finally {
        await client.dispose();
      }
    });
  });

  describe('a manifest refused at start', () => {
    /** Runs the built server to its exit; resolves with the exit code and what it printed. */
    async function runToExit(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
      const proc = spawnServer({ ...operatorEnv(storage, 'production', { MAX_QUERY_DEPTH: '3', ...env }), LOG_LEVEL: 'info' }, BUILT_SERVER);
      const code = await proc.exit;
      return { code, output: proc.output() };
    }

    it('exits non-zero naming a document that does not validate against the schema', async () => {
      const { code, output } = await runToExit({ TRUSTED_DOCUMENTS: manifestFile([op('Login'), BROKEN]) });
      expect(code).not.toBe(0);
      expect(output).toMatch(/TRUSTED_DOCUMENTS operation Broken \(sha256:[0-9a-f]{12}…\): Cannot query field \\"nickname\\"/);
      expect(output).not.toContain('"msg":"listening"');
    });

    it('exits non-zero naming a document over a query limit, by default', async () => {
      const { code, output } = await runToExit({ TRUSTED_DOCUMENTS: manifestFile([op('Login'), DEEP]) });
      expect(code).not.toBe(0);
      expect(output).toMatch(/operation Deep \(sha256:[0-9a-f]{12}…\): over a query limit: .*depth/);
    });
  });

  describe('TRUSTED_DOCUMENTS_SKIP_LIMITS=true', () => {
    let server: BuiltServer;
    beforeAll(async () => {
      server = await start({ TRUSTED_DOCUMENTS: manifestFile([op('Login'), DEEP]), TRUSTED_DOCUMENTS_SKIP_LIMITS: 'true' });
    });
    afterAll(() => server?.kill());

    it('admits a trusted document deeper than MAX_QUERY_DEPTH, with a warning naming it, and runs it', async () => {
      const warned = server.logLines().find((l) => String(l['msg']).startsWith('trusted document Deep is over a query limit'));
      expect(warned).toMatchObject({ level: 'warn', operation: 'Deep' });
      const token = await adminToken(server);
      for (const body of [byId(DEEP), { query: DEEP.body }]) {
        const res = await post(server, body, token);
        expect(res.body.errors).toBeUndefined();
        expect(res.body.data).toEqual({ reports: { edges: expect.any(Array) } });
      }
    });
  });
});
