import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BuiltServer, operatorEnv } from '../helpers/builtServer.js';
import { createStorage, skipSuite, type TestStorage } from '../helpers/server.js';

/** Deeper than MAX_QUERY_DEPTH and naming an unknown field: two validation errors. */
const DEEP = `{ reports { edges { node { author { ${'a { '.repeat(8)}id${' }'.repeat(8)} } } } } }`;
const APOLLO_CLIENT_ACCEPT = 'application/graphql-response+json,application/json;q=0.9';

interface Answer {
  status: number;
  type: string | null;
  body: { errors?: Array<{ message: string; extensions: Record<string, unknown> }> };
}

async function post(url: string, body: unknown, accept?: string): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(accept ? { accept } : {}) };
  const res = await fetch(`${url}/graphql`, { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as Answer['body'] };
}

/** An answer with its request ids set aside: they are the one part that differs between requests. */
function withoutRequestIds(answer: Answer): { answer: Answer; requestIds: unknown[] } {
  const requestIds = answer.body.errors?.map((e) => e.extensions['requestId']) ?? [];
  const errors = answer.body.errors?.map((e) => ({ ...e, extensions: { ...e.extensions, requestId: undefined } }));
  return { answer: { ...answer, body: { errors } }, requestIds };
}

async function validationErrorsCounted(server: BuiltServer): Promise<number> {
  const res = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${server.env['METRICS_TOKEN']}` } });
  return Number(/^bastion_graphql_errors_total\{code="GRAPHQL_VALIDATION_FAILED"\} (\d+)/m.exec(await res.text())?.[1]);
}

/*
 * A document refused by parsing or validation is answered again from memory on a repeat (issue 18: refusing
 * must not cost more than serving). What a client sees must not change: same errors, status,
 * media type and metrics the first time (Apollo) and every time after (the route).
 */
describe.skipIf(skipSuite())('repeated refusals (production server)', () => {
  let storage: TestStorage;
  let server: BuiltServer;
  beforeAll(async () => {
    storage = await createStorage();
    server = await BuiltServer.start(operatorEnv(storage, 'production'));
  });
  afterAll(async () => {
    server?.kill();
    await storage?.dispose();
  });

  it('answers a repeat exactly as the first refusal, for each media type, with a fresh request id', async () => {
    for (const accept of [undefined, 'application/json', APOLLO_CLIENT_ACCEPT, 'application/graphql-response+json']) {
      const query = `${DEEP} # ${accept ?? 'no accept'}`; // a document of its own for each round
      const first = withoutRequestIds(await post(server.url, { query }, accept));
      const second = withoutRequestIds(await post(server.url, { query }, accept));
      const third = withoutRequestIds(await post(server.url, { query, variables: {}, operationName: null }, accept));
      expect(first.answer.body.errors?.map((e) => e.extensions['code'])).toEqual(['GRAPHQL_VALIDATION_FAILED', 'GRAPHQL_VALIDATION_FAILED']);
      expect(first.answer.status, String(accept)).toBe(accept?.startsWith('application/graphql-response+json') ? 400 : 200);
      expect(second.answer).toEqual(first.answer);
      expect(third.answer).toEqual(first.answer);
      // Production hides schema names: no "Did you mean" on a repeat either.
      expect(JSON.stringify(second.answer)).not.toContain('Did you mean');
      for (const { requestIds } of [first, second, third]) expect(new Set(requestIds).size).toBe(1);
      expect(second.requestIds[0]).not.toEqual(first.requestIds[0]);
    }
  });

  it('answers a repeated parse failure (more tokens than MAX_TOKENS) exactly as the first', async () => {
    for (const accept of [undefined, APOLLO_CLIENT_ACCEPT]) {
      const query = `{ me { ${'id '.repeat(2100)}} } # ${accept ?? 'no accept'}`;
      const first = withoutRequestIds(await post(server.url, { query }, accept));
      const second = withoutRequestIds(await post(server.url, { query }, accept));
      expect(first.answer.body.errors?.map((e) => e.extensions['code'])).toEqual(['GRAPHQL_PARSE_FAILED']);
      expect(first.answer.body.errors?.[0]?.message).toMatch(/2000 tokens/);
      expect(second.answer).toEqual(first.answer);
      expect(second.requestIds[0]).not.toEqual(first.requestIds[0]);
    }
  });

  it('counts every repeat in the error metrics as the first one', async () => {
    const query = `${DEEP} # counted`;
    const before = await validationErrorsCounted(server);
    for (let i = 0; i < 5; i++) await post(server.url, { query }, APOLLO_CLIENT_ACCEPT);
    expect((await validationErrorsCounted(server)) - before).toBe(10);
  });

  it('still tells a client what else is wrong with its request', async () => {
    const query = `${DEEP} # malformed`;
    await post(server.url, { query });
    const malformed = await post(server.url, { query, variables: ['not', 'an', 'object'] }, APOLLO_CLIENT_ACCEPT);
    expect(malformed.status).toBe(400);
    expect(malformed.body.errors?.[0]?.message).toMatch(/variables/);
    const refusedAccept = await post(server.url, { query }, 'text/html');
    expect(refusedAccept.status).toBe(406);
  });
});
