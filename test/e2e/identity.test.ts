import { generateKeyPairSync } from 'node:crypto';
import argon2 from 'argon2';
import { SignJWT, decodeProtectedHeader, decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN,
  errorCodes,
  login,
  loginAdmin,
  register,
  REGISTER,
  LOGIN,
  skipSuite,
  TestServer,
  uniqueUser,
  userWithRole,
  type GqlResponse,
  type Session,
} from '../helpers/server.js';

const ME = '{ me { id email username role disabled } }';
const REFRESH = 'mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken expiresIn } }';
const LOGOUT = 'mutation($t: String) { logout(refreshToken: $t) }';
const SET_ROLE = 'mutation($id: ID!, $role: Role!) { setUserRole(id: $id, role: $role) { id role } }';
const SET_DISABLED = 'mutation($id: ID!, $d: Boolean!) { setUserDisabled(id: $id, disabled: $d) { id disabled } }';
const JWT_SECRET = 'identity-test-secret-that-is-at-least-32-bytes-long';

describe.skipIf(skipSuite())('identity', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await TestServer.start({ JWT_SECRET, RATE_LIMITS: 'Mutation.register=200/3600' });
  });
  afterAll(() => server.close());

  const me = (token: string) => server.gql<{ me: { id: string; role: string } }>(ME, undefined, { token });

  describe('registration', () => {
    it('creates a USER, signs in, and never returns the password', async () => {
      const user = uniqueUser();
      const res = await server.gql<{ register: Session & { expiresIn: number } }>(REGISTER, { input: user });
      expect(res.body.errors).toBeUndefined();
      const payload = res.body.data!.register;
      expect(payload.user).toMatchObject({ email: user.email, username: user.username, role: 'USER' });
      expect(payload.expiresIn).toBe(900);
      expect(JSON.stringify(res.body)).not.toContain(user.password);
      const claims = decodeJwt(payload.accessToken);
      expect(claims).toMatchObject({ sub: payload.user.id, role: 'USER', iss: 'bastion', aud: 'bastion-api' });
      expect(typeof claims['sid']).toBe('string');
      expect((await me(payload.accessToken)).body.data?.me.id).toBe(payload.user.id);
      const stored = await server.app.services.db.prisma.user.findUnique({ where: { id: payload.user.id } });
      expect(stored!.passwordHash).toMatch(/^\$argon2id\$/);
    });

    it('refuses short passwords, bad usernames and e-mails, naming the field', async () => {
      const cases: Array<[Record<string, string>, string]> = [
        [{ password: 'short-pass' }, 'password'],
        [{ username: 'a b' }, 'username'],
        [{ email: 'not-an-email' }, 'email'],
      ];
      for (const [override, field] of cases) {
        const res = await server.gql(REGISTER, { input: { ...uniqueUser(), ...override } });
        expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
      }
    });

    it('answers CONFLICT for a taken e-mail or username, whatever the case', async () => {
      const first = await register(server);
      const again = await server.gql(REGISTER, { input: { ...uniqueUser(), email: first.user.email.toUpperCase() } });
      expect(again.body.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', field: 'email' });
      const sameName = await server.gql(REGISTER, { input: { ...uniqueUser(), username: first.user.username.toUpperCase() } });
      expect(sameName.body.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', field: 'username' });
    });

    it('cannot set a role through the input', async () => {
      const res = await server.gql(
        'mutation { register(input: {email: "x@example.com", username: "xrole", password: "long-enough-pass", role: ADMIN}) { user { role } } }',
      );
      expect(errorCodes(res.body)).toContain('GRAPHQL_VALIDATION_FAILED');
      expect(res.body.data ?? null).toBeNull();
    });
  });

  describe('login', () => {
    it('accepts e-mail or username, any case', async () => {
      const user = await register(server);
      expect((await login(server, user.user.email.toUpperCase(), user.password)).user.id).toBe(user.user.id);
      expect((await login(server, user.user.username, user.password)).user.id).toBe(user.user.id);
    });

    it('says only "invalid credentials" for a wrong password and for an unknown user', async () => {
      const user = await register(server);
      const wrong = await server.gql(LOGIN, { input: { login: user.user.email, password: 'wrong-password-123' } });
      const unknown = await server.gql(LOGIN, { input: { login: 'nobody@example.com', password: 'wrong-password-123' } });
      for (const res of [wrong, unknown]) {
        expect(res.body.errors).toHaveLength(1);
        expect(res.body.errors![0]).toMatchObject({ message: 'invalid credentials', extensions: { code: 'UNAUTHENTICATED' } });
        expect(res.body.data ?? null).toBeNull();
      }
    });

    it('after 5 failures per (IP, login) refuses even the right password with RATE_LIMITED', async () => {
      const user = await register(server);
      for (let i = 0; i < 5; i++) {
        const res = await server.gql(LOGIN, { input: { login: user.user.email, password: `wrong-password-${i}` } });
        expect(errorCodes(res.body)).toEqual(['UNAUTHENTICATED']);
      }
      const locked = await server.gql(LOGIN, { input: { login: user.user.email, password: user.password } });
      expect(locked.body.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED' });
      expect(locked.body.errors?.[0]?.extensions?.['retryAfter']).toBeGreaterThan(800);
      // Another login from the same IP is not affected.
      const other = await register(server);
      expect((await login(server, other.user.email, other.password)).user.id).toBe(other.user.id);
    });

    it('a success before the limit gives the allowance back', async () => {
      const user = await register(server);
      for (let i = 0; i < 4; i++) await server.gql(LOGIN, { input: { login: user.user.username, password: 'wrong-password-x' } });
      await login(server, user.user.username, user.password);
      for (let i = 0; i < 4; i++) await server.gql(LOGIN, { input: { login: user.user.username, password: 'wrong-password-x' } });
      expect((await login(server, user.user.username, user.password)).user.id).toBe(user.user.id);
    });

    it('rehashes the password when the cost parameters changed', async () => {
      const user = await register(server);
      const weak = await argon2.hash(user.password, { type: argon2.argon2id, timeCost: 1, memoryCost: 8192 });
      await server.app.services.db.prisma.user.update({ where: { id: user.user.id }, data: { passwordHash: weak } });
      await login(server, user.user.email, user.password);
      const stored = await server.app.services.db.prisma.user.findUnique({ where: { id: user.user.id } });
      expect(stored!.passwordHash).not.toBe(weak);
      expect(argon2.needsRehash(stored!.passwordHash, { timeCost: 2, memoryCost: 19_456, parallelism: 1 })).toBe(false);
    });
  });

  describe('refresh tokens', () => {
    it('rotate on every use; the old one stops working', async () => {
      const user = await register(server);
      const first = await server.gql<{ refreshToken: Session }>(REFRESH, { t: user.refreshToken });
      const pair = first.body.data!.refreshToken;
      expect(pair.refreshToken).not.toBe(user.refreshToken);
      expect((await me(pair.accessToken)).body.data?.me.id).toBe(user.user.id);
      const second = await server.gql<{ refreshToken: Session }>(REFRESH, { t: pair.refreshToken });
      expect(second.body.data!.refreshToken.refreshToken).not.toBe(pair.refreshToken);
    });

    it('a replayed refresh token revokes the whole family and is recorded', async () => {
      const user = await register(server);
      const rotated = (await server.gql<{ refreshToken: Session }>(REFRESH, { t: user.refreshToken })).body.data!.refreshToken;
      const replay = await server.gql(REFRESH, { t: user.refreshToken });
      expect(replay.body.errors?.[0]).toMatchObject({ message: 'invalid refresh token', extensions: { code: 'UNAUTHENTICATED' } });
      // The thief's and the victim's newest tokens are dead too.
      expect(errorCodes((await server.gql(REFRESH, { t: rotated.refreshToken })).body)).toEqual(['UNAUTHENTICATED']);
      expect((await me(rotated.accessToken)).status).toBe(401);
      await server.app.services.audit.flush();
      const events = await server.app.services.db.prisma.auditEvent.findMany({ where: { action: 'refreshTokenReplay', actorId: user.user.id } });
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ outcome: 'DENIED', targetType: 'Session', ip: expect.any(String) });
    });

    it('refuses an unknown refresh token', async () => {
      const res = await server.gql(REFRESH, { t: 'not-a-real-refresh-token' });
      expect(errorCodes(res.body)).toEqual(['UNAUTHENTICATED']);
    });
  });

  describe('revocation', () => {
    it('logout revokes the session: its access token stops working before it expires', async () => {
      const user = await register(server);
      expect((await me(user.accessToken)).status).toBe(200);
      const out = await server.gql<{ logout: boolean }>(LOGOUT, {}, { token: user.accessToken });
      expect(out.body.data?.logout).toBe(true);
      const after = await me(user.accessToken);
      expect(after.status).toBe(401);
      expect(after.body.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED' });
      expect(errorCodes((await server.gql(REFRESH, { t: user.refreshToken })).body)).toEqual(['UNAUTHENTICATED']);
    });

    it('logout with a refresh token ends that session and the calling one', async () => {
      const user = await register(server);
      const other = await login(server, user.user.email, user.password);
      await server.gql(LOGOUT, { t: other.refreshToken }, { token: user.accessToken });
      expect((await me(other.accessToken)).status).toBe(401);
      expect((await me(user.accessToken)).status).toBe(401);
    });

    it("logout refuses someone else's refresh token", async () => {
      const a = await register(server);
      const b = await register(server);
      const res = await server.gql(LOGOUT, { t: b.refreshToken }, { token: a.accessToken });
      expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'refreshToken' });
      expect((await me(b.accessToken)).status).toBe(200);
    });

    it('logoutAll revokes every session of the user', async () => {
      const user = await register(server);
      const second = await login(server, user.user.email, user.password);
      await server.gql('mutation { logoutAll }', undefined, { token: user.accessToken });
      for (const token of [user.accessToken, second.accessToken]) expect((await me(token)).status).toBe(401);
      for (const t of [user.refreshToken, second.refreshToken]) {
        expect(errorCodes((await server.gql(REFRESH, { t })).body)).toEqual(['UNAUTHENTICATED']);
      }
    });

    it('changePassword checks the current one, then revokes every session', async () => {
      const user = await register(server);
      const mutation = 'mutation($i: ChangePasswordInput!) { changePassword(input: $i) }';
      const wrong = await server.gql(mutation, { i: { currentPassword: 'wrong-password-1', newPassword: 'a-new-long-password' } }, { token: user.accessToken });
      expect(wrong.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'currentPassword' });
      const short = await server.gql(mutation, { i: { currentPassword: user.password, newPassword: 'short' } }, { token: user.accessToken });
      expect(short.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'newPassword' });
      const ok = await server.gql(mutation, { i: { currentPassword: user.password, newPassword: 'a-new-long-password' } }, { token: user.accessToken });
      expect(ok.body.data).toEqual({ changePassword: true });
      expect((await me(user.accessToken)).status).toBe(401);
      expect(errorCodes((await server.gql(REFRESH, { t: user.refreshToken })).body)).toEqual(['UNAUTHENTICATED']);
      expect(errorCodes((await server.gql(LOGIN, { input: { login: user.user.email, password: user.password } })).body)).toEqual(['UNAUTHENTICATED']);
      await login(server, user.user.email, 'a-new-long-password');
    });
  });

  describe('forged and stale access tokens', () => {
    let user: Session;
    beforeAll(async () => {
      user = await register(server);
    });
    const key = new TextEncoder().encode(JWT_SECRET);
    const claims = () => ({ role: 'USER', sid: decodeJwt(user.accessToken)['sid'] as string, ver: 0 });
    const sign = (payload: Record<string, unknown>, options: { secret?: Uint8Array; audience?: string; issuer?: string; exp?: number | string } = {}) =>
      new SignJWT(payload)
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(user.user.id)
        .setIssuer(options.issuer ?? 'bastion')
        .setAudience(options.audience ?? 'bastion-api')
        .setIssuedAt()
        .setExpirationTime(options.exp ?? '10m')
        .sign(options.secret ?? key);

    it('accepts a correctly signed token (the forgeries below differ in one thing)', async () => {
      expect((await me(await sign(claims()))).status).toBe(200);
    });

    it.each([
      ['alg none', async () => {
        const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
        const now = Math.floor(Date.now() / 1000);
        return `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...claims(), sub: user.user.id, iss: 'bastion', aud: 'bastion-api', iat: now, exp: now + 600 })}.`;
      }],
      ['a wrong signature', () => sign(claims(), { secret: new TextEncoder().encode('another-secret-of-at-least-32-bytes!!') })],
      ['an expired token', () => sign(claims(), { exp: Math.floor(Date.now() / 1000) - 10 })],
      ['a wrong audience', () => sign(claims(), { audience: 'someone-else' })],
      ['a wrong issuer', () => sign(claims(), { issuer: 'evil' })],
      ['a tampered role claim', async () => {
        const [header, payload, signature] = user.accessToken.split('.');
        const body = JSON.parse(Buffer.from(payload!, 'base64url').toString());
        body.role = 'ADMIN';
        return `${header}.${Buffer.from(JSON.stringify(body)).toString('base64url')}.${signature}`;
      }],
      ['garbage', async () => 'not.a.jwt'],
    ])('refuses %s with 401 UNAUTHENTICATED', async (_name, forge) => {
      const res = await me(await forge());
      expect(res.status).toBe(401);
      expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED' });
      expect(res.body.data ?? null).toBeNull();
    });
  });

  describe('profile', () => {
    it('updateMe changes e-mail and username, never the role', async () => {
      const user = await register(server);
      const fresh = uniqueUser('upd');
      const res = await server.gql<{ updateMe: { email: string; username: string; role: string } }>(
        'mutation($i: UpdateMeInput!) { updateMe(input: $i) { email username role } }',
        { i: { email: fresh.email.toUpperCase(), username: fresh.username } },
        { token: user.accessToken },
      );
      expect(res.body.data?.updateMe).toEqual({ email: fresh.email, username: fresh.username, role: 'USER' });
      const escalate = await server.gql('mutation { updateMe(input: {role: ADMIN}) { role } }', undefined, { token: user.accessToken });
      expect(errorCodes(escalate.body)).toContain('GRAPHQL_VALIDATION_FAILED');
      const viaVariable = await server.gql('mutation($i: UpdateMeInput!) { updateMe(input: $i) { role } }', { i: { role: 'ADMIN' } }, { token: user.accessToken });
      expect(errorCodes(viaVariable.body)).toContain('BAD_USER_INPUT');
      expect((await me(user.accessToken)).body.data?.me.role).toBe('USER');
    });

    it('updateMe answers CONFLICT for a taken e-mail', async () => {
      const a = await register(server);
      const b = await register(server);
      const res = await server.gql('mutation($i: UpdateMeInput!) { updateMe(input: $i) { id } }', { i: { email: b.user.email } }, { token: a.accessToken });
      expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', field: 'email' });
    });
  });

  describe('roles and administration', () => {
    let admin: Session;
    beforeAll(async () => {
      admin = await loginAdmin(server);
    });

    it('the bootstrap admin exists and is ADMIN', async () => {
      expect(admin.user).toMatchObject({ email: ADMIN.email, role: 'ADMIN' });
    });

    it('a USER cannot reach admin operations', async () => {
      const user = await register(server);
      for (const query of ['{ users { totalCount } }', `{ user(id: "${admin.user.id}") { id } }`]) {
        const res = await server.gql(query, undefined, { token: user.accessToken });
        expect(errorCodes(res.body)).toEqual(['FORBIDDEN']);
      }
      const res = await server.gql(SET_ROLE, { id: user.user.id, role: 'ADMIN' }, { token: user.accessToken });
      expect(errorCodes(res.body)).toEqual(['FORBIDDEN']);
      expect((await me(user.accessToken)).body.data?.me.role).toBe('USER');
    });

    it('lists users with filters, search and stable pagination', async () => {
      const tag = `pg${Date.now().toString(36)}`;
      const created: string[] = [];
      for (let i = 0; i < 5; i++) created.push((await register(server, uniqueUser(tag))).user.id);
      const query = `query($first: Int, $after: String, $filter: UserFilter) {
        users(first: $first, after: $after, filter: $filter) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id email role } } } }`;
      const seen: string[] = [];
      let after: string | null = null;
      let pages = 0;
      for (;;) {
        type Page = { users: { totalCount: number; pageInfo: { hasNextPage: boolean; endCursor: string }; edges: Array<{ node: { id: string } }> } };
        const res: GqlResponse<Page> = await server.gql<Page>(
          query,
          { first: 2, after, filter: { search: tag.toUpperCase(), role: 'USER' } },
          { token: admin.accessToken },
        );
        const page = res.body.data!.users;
        expect(page.totalCount).toBe(5);
        seen.push(...page.edges.map((e) => e.node.id));
        pages++;
        if (!page.pageInfo.hasNextPage) break;
        after = page.pageInfo.endCursor;
      }
      expect(pages).toBe(3);
      expect(seen).toEqual([...created].reverse());
      const tooMany = await server.gql(query, { first: 101 }, { token: admin.accessToken });
      expect(tooMany.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
      const badCursor = await server.gql(query, { after: 'bogus' }, { token: admin.accessToken });
      expect(badCursor.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
    });

    it('a role change takes effect on tokens already issued', async () => {
      const user = await register(server);
      expect(errorCodes((await server.gql('{ users { totalCount } }', undefined, { token: user.accessToken })).body)).toEqual(['FORBIDDEN']);
      await server.gql(SET_ROLE, { id: user.user.id, role: 'ADMIN' }, { token: admin.accessToken });
      const res = await server.gql('{ users { totalCount } }', undefined, { token: user.accessToken });
      expect(res.body.errors).toBeUndefined();
      await server.gql(SET_ROLE, { id: user.user.id, role: 'USER' }, { token: admin.accessToken });
      expect(errorCodes((await server.gql('{ users { totalCount } }', undefined, { token: user.accessToken })).body)).toEqual(['FORBIDDEN']);
    });

    it('a disabled user is refused everywhere, old tokens included; enabling restores login', async () => {
      const user = await register(server);
      expect((await me(user.accessToken)).status).toBe(200); // the token and its user are now cached
      const disabled = await server.gql(SET_DISABLED, { id: user.user.id, d: true }, { token: admin.accessToken });
      expect(disabled.body.data).toEqual({ setUserDisabled: { id: user.user.id, disabled: true } });
      const res = await me(user.accessToken);
      expect(res.status).toBe(403);
      expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN' });
      expect(errorCodes((await server.gql(REFRESH, { t: user.refreshToken })).body)).toEqual(['UNAUTHENTICATED']);
      const denied = await server.gql(LOGIN, { input: { login: user.user.email, password: user.password } });
      expect(denied.body.errors?.[0]?.message).toBe('invalid credentials');
      await server.gql(SET_DISABLED, { id: user.user.id, d: false }, { token: admin.accessToken });
      await login(server, user.user.email, user.password);
    });

    it('the last ADMIN cannot demote or disable themselves; with two, one can step down', async () => {
      const demote = await server.gql(SET_ROLE, { id: admin.user.id, role: 'USER' }, { token: admin.accessToken });
      expect(errorCodes(demote.body)).toEqual(['CONFLICT']);
      const disable = await server.gql(SET_DISABLED, { id: admin.user.id, d: true }, { token: admin.accessToken });
      expect(errorCodes(disable.body)).toEqual(['CONFLICT']);
      const second = await userWithRole(server, 'ADMIN');
      const stepDown = await server.gql(SET_ROLE, { id: second.user.id, role: 'USER' }, { token: second.accessToken });
      expect(stepDown.body.data).toEqual({ setUserRole: { id: second.user.id, role: 'USER' } });
    });

    it('an unknown user id is NOT_FOUND', async () => {
      const res = await server.gql(SET_ROLE, { id: '00000000-0000-4000-8000-000000000000', role: 'USER' }, { token: admin.accessToken });
      expect(errorCodes(res.body)).toEqual(['NOT_FOUND']);
    });
  });

  describe('audit', () => {
    it('records logins, refresh, logout, role changes and disables with actor, IP and request id', async () => {
      const admin = await loginAdmin(server);
      const user = await register(server);
      // Failures are aggregated per window, keeping the first request id: start a fresh window.
      await server.app.services.audit.flush();
      await server.gql(LOGIN, { input: { login: user.user.email, password: 'wrong-password-1' } }, { headers: { 'x-request-id': 'audit-login-failure' } });
      const fresh = await login(server, user.user.email, user.password);
      await server.gql(REFRESH, { t: fresh.refreshToken });
      await server.gql(SET_ROLE, { id: user.user.id, role: 'ANALYST' }, { token: admin.accessToken, headers: { 'x-request-id': 'audit-set-role-1' } });
      await server.gql(SET_DISABLED, { id: user.user.id, d: true }, { token: admin.accessToken });
      await server.gql(SET_DISABLED, { id: user.user.id, d: false }, { token: admin.accessToken });
      await server.gql(LOGOUT, {}, { token: admin.accessToken });
      await server.app.services.audit.flush();
      const events = await server.app.services.db.prisma.auditEvent.findMany({ orderBy: { createdAt: 'asc' } });
      const find = (action: string, outcome: string, extra: Record<string, unknown> = {}) =>
        events.find((e) => e.action === action && e.outcome === outcome && Object.entries(extra).every(([k, v]) => (e as Record<string, unknown>)[k] === v));
      expect(find('login', 'FAILURE', { requestId: 'audit-login-failure' })).toMatchObject({ ip: expect.any(String) });
      expect(find('login', 'SUCCESS', { actorId: user.user.id })).toBeDefined();
      expect(find('refreshToken', 'SUCCESS', { actorId: user.user.id })).toBeDefined();
      expect(find('setUserRole', 'SUCCESS', { requestId: 'audit-set-role-1' })).toMatchObject({
        actorId: admin.user.id,
        targetType: 'User',
        targetId: user.user.id,
      });
      expect(events.filter((e) => e.action === 'setUserDisabled' && e.targetId === user.user.id)).toHaveLength(2);
      expect(find('logout', 'SUCCESS', { actorId: admin.user.id })).toBeDefined();
    });
  });
});

describe.skipIf(skipSuite())('identity with an EdDSA key pair and a registration limit', () => {
  let server: TestServer;
  beforeAll(async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    server = await TestServer.start({
      JWT_SECRET: '',
      JWT_PRIVATE_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      JWT_PUBLIC_KEY: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      RATE_LIMITS: 'Mutation.register=2/3600',
      ACCESS_TOKEN_TTL: '5m',
    });
  });
  afterAll(() => server.close());

  it('signs access tokens with EdDSA and the configured TTL', async () => {
    const session = await loginAdmin(server);
    expect(decodeProtectedHeader(session.accessToken).alg).toBe('EdDSA');
    const claims = decodeJwt(session.accessToken);
    expect(claims.exp! - claims.iat!).toBe(300);
    const res = await server.gql(ME, undefined, { token: session.accessToken });
    expect(res.status).toBe(200);
  });

  it('rate limits registration per IP', async () => {
    await register(server);
    await register(server);
    const third = await server.gql(REGISTER, { input: uniqueUser() });
    expect(third.body.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfter: expect.any(Number) });
  });
});
