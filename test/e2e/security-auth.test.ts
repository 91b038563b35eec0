import { randomBytes } from 'node:crypto';
import { SignJWT, UnsecuredJWT, decodeJwt, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectNoLeak, expectRefused, postJson, rawRequest } from '../helpers/security.js';
import { REGISTER, register, skipSuite, TestServer, uniqueUser, userWithRole, type Session } from '../helpers/server.js';

/*
 * Forged tokens, someone else's report, a role smuggled through an input; and the security
 * events all of this leaves behind: audit rows (aggregated under a flood) and Prometheus counters.
 */

const JWT_SECRET = randomBytes(32).toString('hex');
const ISSUER = 'bastion';
const AUDIENCE = 'bastion-api';

function sign(claims: JWTPayload, options: { secret?: string; issuer?: string; audience?: string; expiresAt?: number } = {}) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(options.issuer ?? ISSUER)
    .setAudience(options.audience ?? AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(options.expiresAt ?? '10m')
    .sign(new TextEncoder().encode(options.secret ?? JWT_SECRET));
}

describe.skipIf(skipSuite())('security: authentication and authorisation', () => {
  let server: TestServer;
  let alice: Session;
  let bob: Session;
  beforeAll(async () => {
    server = await TestServer.start({ JWT_SECRET });
    [alice, bob] = await Promise.all([register(server), register(server)]);
  });
  afterAll(() => server.close());

  const prisma = () => server.app.services.db.prisma;

  describe('forged and expired JWTs', () => {
    /** Claims as the server issues them for Alice's session. */
    const aliceClaims = () => {
      const { sub, role, sid, ver } = decodeJwt(alice.accessToken);
      return { sub, role, sid, ver };
    };

    const forgeries: Array<[string, () => Promise<string>]> = [
      ['alg none', async () => new UnsecuredJWT({ ...aliceClaims(), role: 'ADMIN' }).setIssuer(ISSUER).setAudience(AUDIENCE).setIssuedAt().setExpirationTime('10m').encode()],
      ['a wrong signature', () => sign({ ...aliceClaims(), role: 'ADMIN' }, { secret: randomBytes(32).toString('hex') })],
      ['an expired token', () => sign(aliceClaims(), { expiresAt: Math.floor(Date.now() / 1000) - 60 })],
      ['a wrong audience', () => sign(aliceClaims(), { audience: 'another-api' })],
      ['a wrong issuer', () => sign(aliceClaims(), { issuer: 'evil' })],
      [
        'a tampered role claim',
        async () => {
          const [header, , signature] = alice.accessToken.split('.');
          const payload = Buffer.from(JSON.stringify({ ...decodeJwt(alice.accessToken), role: 'ADMIN' })).toString('base64url');
          return `${header}.${payload}.${signature}`;
        },
      ],
      ['garbage', async () => 'not-even-a-jwt'],
    ];

    it.each(forgeries)('refuses %s with 401 UNAUTHENTICATED and no data', async (_name, forge) => {
      const token = await forge();
      const res = await server.gql('{ me { id email role } users { totalCount } }', undefined, { token });
      expectRefused(res, 401, 'UNAUTHENTICATED');
      expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    });

    it('takes the role from the account, not from a validly signed claim', async () => {
      const token = await sign({ ...aliceClaims(), role: 'ADMIN' }, {});
      const res = await server.gql('{ users { totalCount } }', undefined, { token });
      expect(res.status).toBe(200);
      expect(res.body.errors?.map((e) => e.extensions?.['code'])).toEqual(['FORBIDDEN']);
      expect(res.body.data).toBeNull();
    });
  });

  describe("someone else's report", () => {
    let reportId: string;
    beforeAll(async () => {
      const report = await prisma().report.create({ data: { authorId: bob.user.id, title: 'bob-secret-title', body: 'bob-secret-body' } });
      reportId = report.id;
    });

    it('reads as NOT_FOUND, and cannot be updated or deleted', async () => {
      const token = alice.accessToken;
      const read = await server.gql('query($id: ID!) { report(id: $id) { id title body } }', { id: reportId }, { token });
      const update = await server.gql('mutation($id: ID!) { updateReport(id: $id, input: { title: "pwned" }) { id title } }', { id: reportId }, { token });
      const remove = await server.gql('mutation($id: ID!) { deleteReport(id: $id) }', { id: reportId }, { token });
      for (const res of [read, update, remove]) {
        expect(res.body.errors?.map((e) => e.extensions?.['code'])).toEqual(['NOT_FOUND']);
        expect(JSON.stringify(res.body)).not.toContain('bob-secret');
        expectNoLeak(res.body);
      }
      expect(read.body.data).toEqual({ report: null });
      const row = await prisma().report.findUnique({ where: { id: reportId } });
      expect(row).toMatchObject({ title: 'bob-secret-title', authorId: bob.user.id });
    });

    it("shows an ANALYST the report but not its author's e-mail (User.email is self or ADMIN)", async () => {
      const analyst = await userWithRole(server, 'ANALYST');
      const res = await server.gql('query($id: ID!) { report(id: $id) { title author { username email } } }', { id: reportId }, { token: analyst.accessToken });
      expect(res.body.errors?.map((e) => [e.extensions?.['code'], e.path])).toEqual([['FORBIDDEN', ['report', 'author', 'email']]]);
      expect(JSON.stringify(res.body)).not.toContain(bob.user.email);
      const own = await server.gql('{ me { email } }', undefined, { token: bob.accessToken });
      expect(own.body.data).toEqual({ me: { email: bob.user.email } });
    });

    it('is missing from the lists of another USER', async () => {
      const list = await server.gql<{ reports: { totalCount: number; edges: Array<{ node: { id: string } }> } }>(
        '{ reports(first: 100) { totalCount edges { node { id } } } }',
        undefined,
        { token: alice.accessToken },
      );
      expect(list.body.errors).toBeUndefined();
      expect(list.body.data?.reports.edges.map((e) => e.node.id)).not.toContain(reportId);
    });
  });

  describe('a role set through an input', () => {
    it('register(input: {role: ADMIN}) is refused and creates nobody', async () => {
      const user = uniqueUser();
      const inline = await server.gql(
        `mutation { register(input: { email: "${user.email}", username: "${user.username}", password: "${user.password}", role: ADMIN }) { user { role } } }`,
      );
      expectRefused(inline, 400, 'GRAPHQL_VALIDATION_FAILED');
      const viaVariables = await server.gql(REGISTER, { input: { ...user, role: 'ADMIN' } });
      expectRefused(viaVariables, 400, 'BAD_USER_INPUT');
      expect(await prisma().user.count({ where: { email: user.email } })).toBe(0);
    });

    it('updateMe(input: {role: ADMIN}) is refused and the role stays USER', async () => {
      const token = alice.accessToken;
      const inline = await server.gql('mutation { updateMe(input: { role: ADMIN }) { role } }', undefined, { token });
      expectRefused(inline, 400, 'GRAPHQL_VALIDATION_FAILED');
      const viaVariables = await server.gql('mutation($input: UpdateMeInput!) { updateMe(input: $input) { role } }', { input: { role: 'ADMIN' } }, { token });
      expectRefused(viaVariables, 400, 'BAD_USER_INPUT');
      const me = await server.gql('{ me { role } }', undefined, { token });
      expect(me.body.data).toEqual({ me: { role: 'USER' } });
      expect((await prisma().user.findUnique({ where: { id: alice.user.id } }))?.role).toBe('USER');
    });
  });

  describe('security events', () => {
    const SPOOFED = '203.0.113.77';

    it('aggregates a flood of invalid tokens into counted audit rows, at the socket IP despite X-Forwarded-For', async () => {
      const flood = 30;
      for (let i = 0; i < flood; i++) {
        const res = await postJson(server, { query: '{ me { id } }' }, { authorization: 'Bearer forged.token.value', 'x-forwarded-for': SPOOFED });
        expect(res.status).toBe(401);
      }
      await server.app.services.audit.flush();
      const rows = await prisma().auditEvent.findMany({ where: { action: 'invalidToken' } });
      expect(rows.every((r) => r.ip === '127.0.0.1' && r.outcome === 'DENIED')).toBe(true);
      expect(rows.reduce((sum, r) => sum + r.count, 0)).toBeGreaterThanOrEqual(flood);
      expect(rows.length).toBeLessThan(flood);
      expect(await prisma().auditEvent.count({ where: { ip: SPOOFED } })).toBe(0);
    });

    it('records denied access with the field and the actor', async () => {
      for (let i = 0; i < 3; i++) {
        const res = await server.gql('{ users { totalCount } }', undefined, { token: bob.accessToken });
        expect(res.body.errors?.map((e) => e.extensions?.['code'])).toEqual(['FORBIDDEN']);
      }
      await server.app.services.audit.flush();
      const rows = await prisma().auditEvent.findMany({ where: { action: 'accessDenied', actorId: bob.user.id } });
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.every((r) => r.targetId === 'Query.users' && r.outcome === 'DENIED')).toBe(true);
      expect(rows.reduce((sum, r) => sum + r.count, 0)).toBe(3);
    });

    it('counts security events in Prometheus', async () => {
      const res = await rawRequest(server, { method: 'GET', path: '/metrics' });
      expect(res.status).toBe(200);
      const counter = (type: string) => Number(new RegExp(`^bastion_security_events_total\\{type="${type}"\\} (\\d+)`, 'm').exec(res.text)?.[1] ?? 0);
      expect(counter('invalid_token')).toBeGreaterThanOrEqual(30);
      expect(counter('denied')).toBeGreaterThanOrEqual(3);
    });
  });
});
