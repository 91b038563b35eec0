import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectRefused, postJson, rawRequest, upgradeStatus, type RawResponse } from '../helpers/security.js';
import { skipSuite, TestServer, uniqueUser } from '../helpers/server.js';

/*
 * The HTTP layer: rate limits (per field and per key), X-Forwarded-For from a trusted proxy,
 * IP lists and automatic blocks, trusted hosts, CORS, body size, and security headers.
 * The peer (127.0.0.1) is a trusted proxy here, so each test speaks from client IPs of its own.
 */

const ORIGIN = 'https://app.example.com';
const PER_MINUTE = 10;
const AUTO_BLOCK = 5;
const DENIED_IP = '198.51.100.66';
const MAX_BODY = 20_000;

describe.skipIf(skipSuite())('security: HTTP layer', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await TestServer.start({
      NODE_ENV: 'development',
      TRUSTED_PROXIES: '127.0.0.1',
      TRUSTED_HOSTS: 'localhost,127.0.0.1',
      RATE_LIMITS: 'Mutation.register=3/3600',
      RATE_LIMIT_PER_MINUTE: String(PER_MINUTE),
      AUTO_BLOCK_THRESHOLD: String(AUTO_BLOCK),
      // The proxy itself is denied: a request that comes from it directly, not forwarded, is refused.
      IP_DENY_LIST: `${DENIED_IP},127.0.0.1`,
      CORS_ORIGINS: ORIGIN,
      MAX_BODY_BYTES: String(MAX_BODY),
    });
  });
  afterAll(() => server.close());

  const from = (ip: string, extra: Record<string, string> = {}) => ({ 'x-forwarded-for': ip, ...extra });
  const typename = (ip: string) => postJson(server, { query: '{ __typename }' }, from(ip));
  const prisma = () => server.app.services.db.prisma;

  describe('@rateLimit', () => {
    it('counts every alias: 5 aliased registers against a limit of 3 create 3 accounts', async () => {
      const users = Array.from({ length: 5 }, () => uniqueUser());
      const fields = users.map((u, i) => `r${i}: register(input: { email: "${u.email}", username: "${u.username}", password: "${u.password}" }) { user { id } }`);
      const res = await postJson(server, { query: `mutation { ${fields.join(' ')} }` }, from('10.1.0.1'));
      expect(res.status).toBe(200);
      const errors = res.json?.errors ?? [];
      // Root mutation fields run one after another; the refused one is non-null, so the rest are not run.
      expect(errors.map((e) => e.extensions?.['code'])).toEqual(['RATE_LIMITED']);
      expect(errors[0]?.path).toEqual(['r3']);
      const retryAfter = errors[0]?.extensions?.['retryAfter'];
      expect(Number.isInteger(retryAfter) && (retryAfter as number) > 0 && (retryAfter as number) <= 3600).toBe(true);
      expect(res.json?.data).toBeNull();
      expect(await prisma().user.count({ where: { email: { in: users.map((u) => u.email) } } })).toBe(3);
    });

    it('keys the limit by client IP from the trusted proxy, and audits the hit there', async () => {
      const again = await postJson(server, { query: 'mutation($input: RegisterInput!) { register(input: $input) { user { id } } }', variables: { input: uniqueUser() } }, from('10.1.0.1'));
      expect(again.json?.errors?.map((e) => e.extensions?.['code'])).toEqual(['RATE_LIMITED']);
      const elsewhere = await postJson(server, { query: 'mutation($input: RegisterInput!) { register(input: $input) { user { id } } }', variables: { input: uniqueUser() } }, from('10.1.0.2'));
      expect(elsewhere.json?.errors).toBeUndefined();

      await server.app.services.audit.flush();
      const rows = await prisma().auditEvent.findMany({ where: { action: 'rateLimited', targetId: 'Mutation.register' } });
      expect(rows.map((r) => r.ip)).toEqual(rows.map(() => '10.1.0.1'));
      expect(rows.reduce((sum, r) => sum + r.count, 0)).toBe(2);
    });
  });

  describe('per-key HTTP limit', () => {
    it('answers 429 with RateLimit-* and Retry-After headers past RATE_LIMIT_PER_MINUTE', async () => {
      const ip = '10.2.0.1';
      const remaining: string[] = [];
      for (let i = 0; i < PER_MINUTE; i++) {
        const res = await typename(ip);
        expect(res.status).toBe(200);
        expect(res.headers['ratelimit-limit']).toBe(String(PER_MINUTE));
        remaining.push(String(res.headers['ratelimit-remaining']));
      }
      expect(remaining).toEqual(Array.from({ length: PER_MINUTE }, (_, i) => String(PER_MINUTE - 1 - i)));

      const refused = await typename(ip);
      expectRefused(refused, 429, 'RATE_LIMITED');
      expect(refused.headers['ratelimit-remaining']).toBe('0');
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(Number(refused.headers['ratelimit-reset'])).toBeGreaterThan(0);
      expect(refused.json?.errors?.[0]?.extensions?.['retryAfter']).toBe(Number(refused.headers['retry-after']));

      expect((await typename('10.2.0.2')).status).toBe(200);
    });
  });

  describe('IP lists and automatic blocking', () => {
    it('blocks an IP after AUTO_BLOCK_THRESHOLD security events, and only that IP', async () => {
      const ip = '10.3.0.1';
      for (let i = 0; i <= AUTO_BLOCK; i++) {
        const res = await postJson(server, { query: '{ me { id } }' }, from(ip, { authorization: 'Bearer forged.token.value' }));
        expect(res.status).toBe(401);
      }
      const blocked = await typename(ip);
      expectRefused(blocked, 403, 'FORBIDDEN');
      expect(blocked.json?.errors?.[0]?.message).toMatch(/blocked/);
      expect((await rawRequest(server, { method: 'GET', path: '/health', headers: from(ip) })).status).toBe(403);
      expect((await typename('10.3.0.2')).status).toBe(200);
    });

    it('refuses an IP on IP_DENY_LIST on every route and for WebSocket upgrades', async () => {
      expectRefused(await typename(DENIED_IP), 403, 'FORBIDDEN');
      expectRefused(await postJson(server, { query: '{ __typename }' }), 403, 'FORBIDDEN');
      expect((await rawRequest(server, { method: 'GET', path: '/health', headers: from(DENIED_IP) })).status).toBe(403);
      const upgrade = await upgradeStatus(server, { headers: from(DENIED_IP) });
      expect(upgrade).toBe(403); // the same status as the HTTP refusal: one gate
    });
  });

  describe('hosts, CORS and body size', () => {
    it('refuses a Host outside TRUSTED_HOSTS with 400', async () => {
      const bad = await rawRequest(server, { method: 'GET', path: '/health', headers: from('10.5.0.1', { host: 'evil.example' }) });
      expectRefused(bad, 400, 'BAD_USER_INPUT');
      const good = await rawRequest(server, { method: 'GET', path: '/health', headers: from('10.5.0.1', { host: `localhost:${server.app.port}` }) });
      expect(good.status).toBe(200);
    });

    it('answers CORS for CORS_ORIGINS only', async () => {
      const preflight = (origin: string) =>
        rawRequest(server, {
          method: 'OPTIONS',
          headers: from('10.5.0.2', { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,authorization' }),
        });
      const allowed = await preflight(ORIGIN);
      expect(allowed.headers['access-control-allow-origin']).toBe(ORIGIN);
      expect(allowed.headers['access-control-allow-headers']).toContain('authorization');
      const foreign = await preflight('https://evil.example');
      expect(foreign.headers['access-control-allow-origin']).toBeUndefined();

      const simple = await postJson(server, { query: '{ __typename }' }, from('10.5.0.2', { origin: 'https://evil.example' }));
      expect(simple.headers['access-control-allow-origin']).toBeUndefined();
    });

    it('answers a body over MAX_BODY_BYTES with 413 and does not run it', async () => {
      const user = uniqueUser();
      const body = JSON.stringify({
        query: 'mutation($input: RegisterInput!) { register(input: $input) { user { id } } }',
        variables: { input: user },
        padding: 'x'.repeat(MAX_BODY),
      });
      const res = await rawRequest(server, { headers: from('10.5.0.3', { 'content-type': 'application/json' }), body });
      expectRefused(res, 413, 'BAD_USER_INPUT');
      expect(await prisma().user.count({ where: { email: user.email } })).toBe(0);
    });
  });

  describe('security headers', () => {
    function expectSecurityHeaders(res: RawResponse): void {
      expect(res.headers['content-security-policy']).toBe("default-src 'none';base-uri 'none';form-action 'none';frame-ancestors 'none'");
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['x-request-id']).toBeTruthy();
    }

    it('are on every response: success, errors, refusals, unknown routes', async () => {
      const ip = '10.6.0.1';
      const responses = [
        await typename(ip),
        await postJson(server, { query: '{ me { id' }, from(ip)),
        await rawRequest(server, { method: 'GET', path: '/health', headers: from(ip) }),
        await rawRequest(server, { method: 'GET', path: '/no-such-route', headers: from(ip) }),
        await rawRequest(server, { headers: from(ip, { 'content-type': 'application/json' }), body: 'x'.repeat(MAX_BODY + 1) }),
        await rawRequest(server, { headers: from(ip, { 'content-type': 'application/x-www-form-urlencoded' }), body: 'a=b' }),
      ];
      expect(responses.map((r) => r.status)).toEqual([200, 400, 200, 404, 413, 415]);
      for (const res of responses) expectSecurityHeaders(res);
    });

    it('give the development landing page a CSP that lets Apollo Sandbox load', async () => {
      const res = await rawRequest(server, { method: 'GET', headers: from('10.6.0.2', { accept: 'text/html' }) });
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      const csp = String(res.headers['content-security-policy']);
      expect(csp).toMatch(/script-src [^;]*https:\/\/embeddable-sandbox\.cdn\.apollographql\.com/);
      expect(csp).toMatch(/frame-src [^;]*https:\/\/sandbox\.embed\.apollographql\.com/);
      expect(csp).toContain("frame-ancestors 'none'");
      expect(res.headers['x-frame-options']).toBe('DENY');
    });
  });
});
