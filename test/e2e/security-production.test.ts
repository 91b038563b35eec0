import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { expectNoLeak, expectRefused, rawRequest } from '../helpers/security.js';
import { register, skipSuite, TestServer } from '../helpers/server.js';

/* Production mode: nothing about the schema or the server's internals reaches a client. */

const METRICS_TOKEN = randomBytes(16).toString('hex');

describe.skipIf(skipSuite())('security: production mode', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await TestServer.start({
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      JWT_SECRET: randomBytes(32).toString('hex'),
      METRICS_TOKEN,
    });
  });
  afterAll(() => server.close());

  it('refuses introspection', async () => {
    for (const query of ['{ __schema { types { name } } }', '{ __type(name: "User") { fields { name } } }']) {
      const res = await server.gql(query);
      expectRefused(res, 400, 'GRAPHQL_VALIDATION_FAILED');
      expect(res.body.errors?.[0]?.message).toMatch(/introspection is not allowed/);
    }
  });

  it('gives no "Did you mean" suggestions', async () => {
    const field = await server.gql('{ mee { id } }');
    expectRefused(field, 400, 'GRAPHQL_VALIDATION_FAILED');
    expect(field.body.errors?.[0]?.message).toBe('Cannot query field "mee" on type "Query".');

    const argument = await server.gql('mutation { registr(input: { email: "a", username: "b", passwrd: "c" }) { accessToken } }');
    expectRefused(argument, 400, 'GRAPHQL_VALIDATION_FAILED');
    const enumValue = await server.gql('query($r: Role) { users(filter: { role: $r }) { totalCount } }', { r: 'ADMN' });
    expectRefused(enumValue, 400, 'BAD_USER_INPUT');
    for (const res of [field, argument, enumValue]) expect(JSON.stringify(res.body)).not.toMatch(/did you mean/i);
  });

  it('gives no suggestions over WebSocket either', async () => {
    const client = server.wsClient();
    try {
      const errors = await new Promise<unknown>((resolve) => {
        client.subscribe({ query: 'subscription { alertRaisd { id } }' }, { next: () => undefined, error: resolve, complete: () => resolve([]) });
      });
      expect(errors).toEqual([
        expect.objectContaining({
          message: 'Cannot query field "alertRaisd" on type "Subscription".',
          extensions: expect.objectContaining({ code: 'GRAPHQL_VALIDATION_FAILED' }),
        }),
      ]);
    } finally {
      await client.dispose();
    }
  });

  it('serves no landing page', async () => {
    const variants: Array<Record<string, string>> = [{ accept: 'text/html' }, { accept: 'text/html', 'apollo-require-preflight': 'true' }];
    for (const headers of variants) {
      const res = await rawRequest(server, { method: 'GET', headers });
      expect([400, 406]).toContain(res.status);
      expect(res.headers['content-type']).not.toMatch(/html/);
      expect(res.text).not.toMatch(/sandbox|landing|<html|<script/i);
    }
  });

  it('sends HSTS and the strict API CSP', async () => {
    const res = await rawRequest(server, { method: 'GET', path: '/health' });
    expect(res.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
  });

  it('masks an internal error: "Internal server error" and the request id, nothing else', async () => {
    const user = await register(server);
    const spy = vi
      .spyOn(server.app.services.identity, 'me')
      .mockRejectedValue(new Error('connect ECONNREFUSED db-internal.corp:5432 (password=hunter2)'));
    try {
      const res = await server.gql('{ me { id } }', undefined, { token: user.accessToken });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        data: null,
        errors: [
          {
            message: 'Internal server error',
            path: ['me'],
            extensions: { code: 'INTERNAL_SERVER_ERROR', requestId: res.headers.get('x-request-id') },
          },
        ],
      });
      expect(JSON.stringify(res.body)).not.toMatch(/ECONNREFUSED|db-internal|hunter2|locations/);
      expectNoLeak(res.body);
    } finally {
      spy.mockRestore();
    }
  });

  it('keeps /metrics behind METRICS_TOKEN', async () => {
    const anonymous = await rawRequest(server, { method: 'GET', path: '/metrics' });
    expect(anonymous.status).toBe(401);
    expect(anonymous.text).not.toContain('bastion_');
    const scraped = await rawRequest(server, { method: 'GET', path: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(scraped.status).toBe(200);
    expect(scraped.text).toContain('bastion_security_events_total');
  });
});
