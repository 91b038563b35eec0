import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { serverAudits } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/process.js';
import { ADMIN, errorCodes, skipSuite, TestServer } from '../helpers/server.js';

const MANIFEST = path.join(ROOT, 'client', 'generated', 'persisted-query-manifest.json');
const manifest = JSON.parse(readFileSync(MANIFEST, 'utf8')) as { operations: Array<{ id: string; name: string; body: string }> };
const hashOf = (operationName: string) => {
  const operation = manifest.operations.find((op) => op.name === operationName);
  if (!operation) throw new Error(`${operationName} is not in the manifest`);
  return { documentId: `sha256:${operation.id}`, hex: operation.id, document: operation.body };
};
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: res.status, headers: res.headers, body: (await res.json()) as { data?: Record<string, unknown> | null; errors?: Array<{ extensions?: Record<string, unknown> }> } };
}

describe.skipIf(skipSuite())('client ecosystem: trusted documents in production', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await TestServer.start({
      NODE_ENV: 'production',
      JWT_SECRET: 'production-secret-of-at-least-32-bytes!!',
      METRICS_TOKEN: 'metrics-token',
      HOST: '127.0.0.1',
      TRUSTED_DOCUMENTS: MANIFEST,
    });
  });
  afterAll(() => server.close());

  const loginVariables = { input: { login: ADMIN.email, password: ADMIN.password } };
  /** Signs in with the trusted Login document: the only way in on this server. */
  const adminToken = async () => {
    const res = await post(server.url, { documentId: hashOf('Login').documentId, variables: loginVariables });
    return (res.body.data?.['login'] as { accessToken: string }).accessToken;
  };

  it('runs a manifest operation sent by documentId', async () => {
    const { documentId } = hashOf('Login');
    const res = await post(server.url, { documentId, variables: loginVariables });
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data?.['login']).toMatchObject({ user: { email: ADMIN.email, role: 'ADMIN' } });
  });

  it("runs one sent by APQ's sha256Hash, and by the exact document text", async () => {
    const { hex, document } = hashOf('Login');
    const byHash = await post(server.url, { variables: loginVariables, extensions: { persistedQuery: { version: 1, sha256Hash: hex } } });
    expect(byHash.body.data?.['login']).toBeTruthy();
    const byText = await post(server.url, { query: document, variables: loginVariables });
    expect(byText.body.data?.['login']).toBeTruthy();
  });

  it('runs a manifest query over GET by documentId', async () => {
    const { documentId } = hashOf('Me');
    const res = await fetch(`${server.url}/graphql?documentId=${encodeURIComponent(documentId)}`, {
      headers: { authorization: `Bearer ${await adminToken()}`, 'apollo-require-preflight': 'true' },
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { data: { me: { email: string } } }).data.me.email).toBe(ADMIN.email);
  });

  it('refuses an unknown hash with PERSISTED_QUERY_NOT_FOUND and any other document with FORBIDDEN', async () => {
    const unknown = await post(server.url, { extensions: { persistedQuery: { version: 1, sha256Hash: sha256('nope') } } });
    expect(errorCodes(unknown.body as never)).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
    expect(unknown.status).toBe(404);
    const other = await post(server.url, { query: '{ __typename }' });
    expect(other.status).toBe(403);
    expect(errorCodes(other.body as never)).toEqual(['FORBIDDEN']);
    expect(other.body.data ?? null).toBeNull();
    // A manifest document with one character changed is another document.
    const tampered = await post(server.url, { query: hashOf('Login').document.replace('accessToken', 'accessToken ') , variables: loginVariables });
    expect(tampered.status).toBe(403);
  });

  it('applies the list on the WebSocket too', async () => {
    const client = server.wsClient(await adminToken());
    try {
      const result = await new Promise<unknown>((resolve) => {
        client.subscribe({ query: 'subscription { alertRaised { id } }' }, { next: resolve, error: resolve, complete: () => undefined });
      });
      const errors = Array.isArray(result) ? result : (result as { errors?: unknown[] }).errors;
      expect(JSON.stringify(errors)).toContain('FORBIDDEN');
    } finally {
      await client.dispose();
    }
  });

  it('shows no landing page in production', async () => {
    const res = await fetch(`${server.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(res.headers.get('content-type')).not.toMatch(/text\/html/);
  });
});

describe.skipIf(skipSuite())('client ecosystem: development server', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await TestServer.start({ NODE_ENV: 'development' });
  });
  afterAll(() => server.close());

  it('keeps automatic persisted queries working', async () => {
    const query = '{ __typename }';
    const extensions = { persistedQuery: { version: 1, sha256Hash: sha256(query) } };
    const miss = await post(server.url, { extensions });
    expect(errorCodes(miss.body as never)).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
    const register = await post(server.url, { query, extensions });
    expect(register.body.data).toEqual({ __typename: 'Query' });
    const hit = await post(server.url, { extensions });
    expect(hit.body.data).toEqual({ __typename: 'Query' });
  });

  it('serves Apollo Sandbox to a browser, with a CSP that lets it load', async () => {
    const res = await fetch(`${server.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain('https://embeddable-sandbox.cdn.apollographql.com');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain('https://embeddable-sandbox.cdn.apollographql.com');
    expect(csp).toContain('frame-src https://sandbox.embed.apollographql.com');
    expect(csp).toContain("frame-ancestors 'none'");
    // The API's own responses keep the strict policy.
    const api = await post(server.url, { query: '{ __typename }' });
    expect(api.headers.get('content-security-policy')).toContain("default-src 'none'");
  });

  it('lets the Sandbox origin call the API (CORS)', async () => {
    const res = await fetch(`${server.url}/graphql`, {
      method: 'OPTIONS',
      headers: { origin: 'https://sandbox.embed.apollographql.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    expect(res.headers.get('access-control-allow-origin')).toBe('https://sandbox.embed.apollographql.com');
  });

  it('refuses a preflight from a disallowed origin as CORS, with no CORS headers', async () => {
    const res = await fetch(`${server.url}/graphql`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    expect([...res.headers.keys()].filter((name) => name.startsWith('access-control-'))).toEqual([]);
    expect(res.status).toBe(403);
    const body = (await res.json()) as { errors: Array<{ message: string; extensions: { code: string } }> };
    expect(body.errors[0]!.extensions.code).toBe('FORBIDDEN');
    expect(body.errors[0]!.message).toMatch(/^CORS: origin https:\/\/evil\.example is not allowed/);
  });

  it('supports the application/graphql-response+json media type', async () => {
    const res = await post(server.url, { query: '{ __typename }' }, { accept: 'application/graphql-response+json' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/graphql-response\+json/);
    const invalid = await post(server.url, { query: '{ nope }' }, { accept: 'application/graphql-response+json' });
    expect(invalid.status).toBe(400);
  });

  it("passes every MUST and SHOULD of graphql-http's server audit; the MAYs it misses are listed in README", async () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const failed: string[] = [];
    const missedMay: string[] = [];
    for (const audit of serverAudits({ url: `${server.url}/graphql`, fetchFn: fetch })) {
      const result = await audit.fn();
      if (result.status === 'ok') continue;
      if (audit.name.startsWith('MAY')) missedMay.push(audit.id);
      else failed.push(`${audit.id} ${audit.name}: ${result.reason}`);
    }
    expect(failed).toEqual([]);
    for (const id of missedMay) expect(readme, `README lists MAY ${id}`).toContain(id);
  });

  it('answers a bad document 200 to an application/json client and 400 to an application/graphql-response+json one', async () => {
    for (const body of [{ query: '{ me ' }, { query: '{ nope }' }, { query: 'query($s: ReportStatus) { reports(filter: { status: $s }) { totalCount } }', variables: { s: 'NOPE' } }]) {
      const json = await post(server.url, body, { accept: 'application/json' });
      expect(json.status).toBe(200);
      expect(json.headers.get('content-type')).toMatch(/^application\/json/);
      const graphqlResponse = await post(server.url, body, { accept: 'application/graphql-response+json' });
      expect(graphqlResponse.status).toBe(400);
      expect(errorCodes(json.body as never)).toEqual(errorCodes(graphqlResponse.body as never));
    }
  });
});
