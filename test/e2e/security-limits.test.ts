import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectNoLeak, expectRefused, postJson, rawRequest } from '../helpers/security.js';
import { REGISTER, skipSuite, TestServer, uniqueUser } from '../helpers/server.js';

/*
 * Hostile documents and hostile HTTP: every case is refused before execution with the exact
 * status and code, no data, and no internals in the answer.
 */

const MAX_DEPTH = 3;
const MAX_COST = 1000;

describe.skipIf(skipSuite())('security: query limits', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await TestServer.start({ MAX_QUERY_DEPTH: String(MAX_DEPTH), MAX_QUERY_COST: String(MAX_COST) });
  });
  afterAll(() => server.close());

  it('refuses an alias flood (16 aliases) before execution', async () => {
    const fields = Array.from({ length: 16 }, (_, i) => `a${i}: __typename`).join(' ');
    const res = await server.gql(`{ ${fields} }`);
    expectRefused(res, 400, 'GRAPHQL_VALIDATION_FAILED');
    expect(res.body.errors?.[0]).toMatchObject({ message: 'Too many aliases: at most 15 per document', extensions: { limit: 'aliases' } });
    const fifteen = await server.gql(`{ ${Array.from({ length: 15 }, (_, i) => `a${i}: __typename`).join(' ')} }`);
    expect(fifteen.body.errors).toBeUndefined();
  });

  it('refuses a query one level deeper than MAX_QUERY_DEPTH, also when the depth hides in fragments', async () => {
    const atLimit = await server.gql('{ reports { edges { node { id } } } }');
    expect(errorCodesOf(atLimit.body)).not.toContain('GRAPHQL_VALIDATION_FAILED');

    const deep = await server.gql('{ reports { edges { node { author { id } } } } }');
    expectRefused(deep, 400, 'GRAPHQL_VALIDATION_FAILED');
    expect(deep.body.errors?.[0]?.message).toContain(`exceeds maximum operation depth of ${MAX_DEPTH}`);

    const hidden = await server.gql(`
      query Hidden { reports { ...Page } }
      fragment Page on ReportConnection { edges { node { ...Author } } }
      fragment Author on Report { author { ... on User { id } } }
    `);
    expectRefused(hidden, 400, 'GRAPHQL_VALIDATION_FAILED');
    expect(hidden.body.errors?.[0]?.message).toBe(`'Hidden' exceeds maximum operation depth of ${MAX_DEPTH}`);
  });

  it('refuses a cost bomb of `first: 100` connections', async () => {
    // Each page costs 1 + 100 × (edges + node) = 201; five stay within the depth and alias limits.
    const page = 'reports(first: 100) { edges { node { id } } }';
    const res = await server.gql(`{ a: ${page} b: ${page} c: ${page} d: ${page} e: ${page} }`);
    expect(res.body.errors).toHaveLength(1);
    expectRefused(res, 400, 'GRAPHQL_VALIDATION_FAILED');
    expect(res.body.errors?.[0]?.message).toBe(`Query is too costly: 1005 > ${MAX_COST}`);
    expect(res.body.errors?.[0]?.extensions?.['limit']).toBe('cost');
  });

  it('refuses fragments that fan out exponentially, without walking them', async () => {
    // 22 fragments (about 250 tokens), each spreading the next twice: two million fields once inlined.
    const levels = 22;
    const fragments = Array.from({ length: levels }, (_, i) => `fragment F${i} on Query { ${i === levels - 1 ? 'me { id }' : `...F${i + 1} ...F${i + 1}`} }`);
    const res = await server.gql(`{ ...F0 } ${fragments.join(' ')}`);
    expectRefused(res, 400, 'GRAPHQL_VALIDATION_FAILED');
    expect(res.body.errors?.map((e) => e.extensions?.['limit'])).toEqual(['fragments', 'cost']);
  });

  it('stops parsing a document of more than 2,000 tokens', async () => {
    const res = await server.gql(`{ ${'__typename '.repeat(2500)} }`);
    expectRefused(res, 400, 'GRAPHQL_PARSE_FAILED');
    expect(res.body.errors?.[0]?.message).toMatch(/Document contains more tha[nt] 2000 tokens\. Parsing aborted\./);
  });

  it('answers a directive flood with at most 5 errors', async () => {
    const flood = Array.from({ length: 400 }, (_, i) => `@d${i}`).join(' ');
    const res = await server.gql(`{ __typename ${flood} }`);
    expectRefused(res, 400, 'GRAPHQL_VALIDATION_FAILED');
    expect(res.body.errors).toHaveLength(5);
    expect(res.body.errors?.[4]?.message).toBe('Too many validation errors, error limit reached. Validation aborted.');
  });

  it('reports circular fragments and an unknown fragment as validation errors, not crashes', async () => {
    const circular = await server.gql('{ me { ...A } } fragment A on User { id ...B } fragment B on User { id ...A }');
    expectRefused(circular, 400, 'GRAPHQL_VALIDATION_FAILED');
    expect(circular.body.errors?.[0]?.message).toMatch(/^Cannot spread fragment "A" within itself/);

    const unknown = await server.gql('{ reports { edges { node { ...Nowhere } } } }');
    expectRefused(unknown, 400, 'GRAPHQL_VALIDATION_FAILED');
    expect(unknown.body.errors?.map((e) => e.message)).toEqual(['Unknown fragment "Nowhere".']);
  });
});

describe.skipIf(skipSuite())('security: hostile HTTP requests', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await TestServer.start();
  });
  afterAll(() => server.close());

  const registerBody = (email: string) => ({ query: REGISTER, variables: { input: { ...uniqueUser(), email } } });
  const userCount = (email: string) => server.app.services.db.prisma.user.count({ where: { email } });

  it('refuses a batched (JSON array) body', async () => {
    const email = uniqueUser().email;
    const res = await postJson(server, [{ query: '{ __typename }' }, registerBody(email)]);
    expectRefused(res, 400, 'BAD_USER_INPUT');
    expect(await userCount(email)).toBe(0);
  });

  it('never executes a mutation sent over GET', async () => {
    const email = uniqueUser().email;
    const { query, variables } = registerBody(email);
    const path = `/graphql?query=${encodeURIComponent(query)}&variables=${encodeURIComponent(JSON.stringify(variables))}`;
    // A simple GET is a CSRF candidate: refused by Apollo's CSRF prevention.
    expectRefused(await rawRequest(server, { method: 'GET', path }), 400, 'BAD_USER_INPUT');
    // With the preflight header, GET still may not mutate.
    const preflighted = await rawRequest(server, { method: 'GET', path, headers: { 'apollo-require-preflight': 'true' } });
    expectRefused(preflighted, 405, 'BAD_USER_INPUT');
    expect(preflighted.json?.errors?.[0]?.message).toMatch(/only support query operations/);
    expect(await userCount(email)).toBe(0);
  });

  it('refuses urlencoded, text/plain and multipart POSTs without executing them', async () => {
    const email = uniqueUser().email;
    const body = JSON.stringify(registerBody(email));
    const urlencoded = await rawRequest(server, {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `query=${encodeURIComponent(body)}`,
    });
    expectRefused(urlencoded, 415, 'BAD_USER_INPUT');

    // text/plain is a "simple" type a cross-site form can send: CSRF prevention refuses it.
    const plain = await rawRequest(server, { headers: { 'content-type': 'text/plain' }, body });
    expectRefused(plain, 400, 'BAD_USER_INPUT');
    expect(plain.json?.errors?.[0]?.message).toContain('Cross-Site Request Forgery');

    const boundary = 'xYzBoundary';
    const multipart = await rawRequest(server, {
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      body: `--${boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n${body}\r\n--${boundary}--\r\n`,
    });
    expectRefused(multipart, 415, 'BAD_USER_INPUT');
    expect(await userCount(email)).toBe(0);
  });

  it('answers malformed JSON with 400 BAD_USER_INPUT', async () => {
    const res = await rawRequest(server, { headers: { 'content-type': 'application/json' }, body: '{"query": "{ __typename }"' });
    expectRefused(res, 400, 'BAD_USER_INPUT');
    expect(res.json?.errors?.[0]?.message).toBe('request body is not valid JSON');
  });

  it('answers a syntax error with 400 GRAPHQL_PARSE_FAILED and the request id', async () => {
    const res = await postJson(server, { query: '{ me { id ' });
    expectRefused(res, 400, 'GRAPHQL_PARSE_FAILED');
    expect(res.json?.errors?.[0]?.message).toMatch(/^Syntax Error/);
    expect(res.json?.errors?.[0]?.extensions?.['requestId']).toBe(res.headers['x-request-id']);
  });

  it('answers a non-string query with 400, not a crash', async () => {
    const res = await postJson(server, { query: { evil: true } });
    expectRefused(res, 400, 'BAD_USER_INPUT');
    expectNoLeak(res.text);
  });
});

function errorCodesOf(body: { errors?: Array<{ extensions?: Record<string, unknown> }> }): unknown[] {
  return (body.errors ?? []).map((e) => e.extensions?.['code']);
}
