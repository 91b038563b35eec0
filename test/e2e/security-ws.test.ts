import type { Client, FormattedExecutionResult } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectNoLeak, upgradeStatus } from '../helpers/security.js';
import { loginAdmin, register, skipSuite, TestServer } from '../helpers/server.js';

/*
 * The WebSocket path has the HTTP path's security: the same authentication, the same parse and
 * validation limits, the same masking, and shield's rules checked when a client subscribes.
 */

interface Outcome {
  results: FormattedExecutionResult<Record<string, unknown>, unknown>[];
  errors: Array<{ message: string; extensions?: Record<string, unknown> }>;
  closeCode?: number;
}

/** Subscribes and collects what arrives until the server completes or errors the operation. */
function subscribeOnce(client: Client, query: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const results: Outcome['results'] = [];
    client.subscribe(
      { query },
      {
        next: (result) => results.push(result),
        error: (error) => {
          if (Array.isArray(error)) resolve({ results, errors: error as Outcome['errors'] });
          else resolve({ results, errors: [], closeCode: (error as { code?: number }).code });
        },
        complete: () => resolve({ results, errors: results.flatMap((r) => (r.errors ?? []) as Outcome['errors']) }),
      },
    );
  });
}

function codesOf(outcome: Outcome): unknown[] {
  return outcome.errors.map((e) => e.extensions?.['code']);
}

const CORS_ORIGIN = 'https://app.example.com';

describe.skipIf(skipSuite())('security: WebSocket', () => {
  let server: TestServer;
  const clients: Client[] = [];
  const client = (token?: string) => {
    const made = server.wsClient(token);
    clients.push(made);
    return made;
  };

  beforeAll(async () => {
    server = await TestServer.start({ MAX_QUERY_DEPTH: '2', CORS_ORIGINS: CORS_ORIGIN });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.dispose()));
  });
  afterAll(() => server.close());

  it('checks the token again at every subscribe: a revoked one starts nothing on an open socket', async () => {
    const admin = await loginAdmin(server);
    const socket = client(admin.accessToken);
    // A first subscription keeps the socket open (the client closes idle sockets).
    const first = socket.subscribe({ query: 'subscription { alertRaised { id } }' }, { next: () => undefined, error: () => undefined, complete: () => undefined });
    await new Promise((r) => setTimeout(r, 300));
    await server.gql('mutation { logout }', undefined, { token: admin.accessToken });
    const after = await subscribeOnce(socket, 'subscription { alertRaised { id } }');
    expect(after.closeCode).toBeUndefined();
    expect(codesOf(after)).toEqual(['UNAUTHENTICATED']);
    first();
  });

  it('caps the subscriptions one socket may hold', async () => {
    const admin = await loginAdmin(server);
    const socket = client(admin.accessToken);
    const open = Array.from({ length: 50 }, () =>
      socket.subscribe({ query: 'subscription { alertRaised { id } }' }, { next: () => undefined, error: () => undefined, complete: () => undefined }),
    );
    await new Promise((r) => setTimeout(r, 500));
    expect(codesOf(await subscribeOnce(socket, 'subscription { alertRaised { id } }'))).toEqual(['RATE_LIMITED']);
    open.forEach((stop) => stop());
  });

  it('closes a connection with a bad token with 4403', async () => {
    for (const token of ['not-a.jwt.token', 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.']) {
      const outcome = await subscribeOnce(client(token), 'subscription { alertRaised { id } }');
      expect(outcome.closeCode).toBe(4403);
      expect(outcome.results).toEqual([]);
    }
  });

  it('refuses a forbidden subscription when the client subscribes, before any event', async () => {
    const user = await register(server);
    const forbidden = await subscribeOnce(client(user.accessToken), 'subscription { alertRaised { id message } }');
    expect(codesOf(forbidden)).toEqual(['FORBIDDEN']);
    expect(forbidden.results.every((r) => r.data == null)).toBe(true);

    const anonymous = await subscribeOnce(client(), 'subscription { systemMetrics { t } }');
    expect(codesOf(anonymous)).toEqual(['UNAUTHENTICATED']);
    for (const outcome of [forbidden, anonymous]) {
      expect(outcome.errors[0]?.extensions?.['requestId']).toMatch(/^[0-9a-f-]{36}$/);
      expectNoLeak(outcome.errors);
    }
  });

  it('applies the depth limit and the parse limit to subscriptions', async () => {
    const user = await register(server);
    const deep = await subscribeOnce(client(user.accessToken), 'subscription Deep { alertRaised { id { deeper { deepest { bottom } } } } }');
    expect(codesOf(deep).every((c) => c === 'GRAPHQL_VALIDATION_FAILED')).toBe(true);
    expect(deep.errors.map((e) => e.message)).toContain("'Deep' exceeds maximum operation depth of 2");

    const huge = await subscribeOnce(client(user.accessToken), `subscription { ${'__typename '.repeat(2500)} }`);
    expect(codesOf(huge)).toEqual(['GRAPHQL_PARSE_FAILED']);
  });

  it('serves subscriptions only: a query or a mutation over the socket is refused', async () => {
    const user = await register(server);
    const ws = client(user.accessToken);
    const query = await subscribeOnce(ws, '{ me { id } }');
    expect(codesOf(query)).toEqual(['BAD_USER_INPUT']);
    const mutation = await subscribeOnce(ws, 'mutation { logoutAll }');
    expect(codesOf(mutation)).toEqual(['BAD_USER_INPUT']);
    // The mutation did not run: the session still works.
    const me = await server.gql('{ me { id } }', undefined, { token: user.accessToken });
    expect(me.body.data).toEqual({ me: { id: user.user.id } });
  });

  it('refuses the upgrade from a foreign origin', async () => {
    const status = (origin: string) => upgradeStatus(server, { origin });
    expect(await status('https://evil.example')).toBe(403);
    expect(await status(CORS_ORIGIN)).toBe(101);
  });
});
