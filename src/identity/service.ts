import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Config } from '../config/config.js';
import type { Database } from '../db/database.js';
import { isUniqueViolation } from '../db/errors.js';
import type { User } from '../db/models.js';
import { AppError, ErrorCode, badInput, conflict, notFound, rateLimited, unauthenticated } from '../errors.js';
import type { RequestInfo, Viewer } from '../kernel/requestIdentity.js';
import { NEWEST_FIRST, afterCursor, decodeCursor, pageSize, toConnection, type Connection } from '../kernel/pagination.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { isLimiterRejection, retryAfterSeconds, type LimiterStore } from '../security/limiterStore.js';
import type { Role } from '../kernel/roles.js';
import type { SecurityEvents } from '../security/securityEvents.js';
import type { AuditLog } from '../observability/auditLog.js';
import type { AuthState } from './authState.js';
import { dummyPasswordHash, hashPassword, needsRehash, verifyPassword } from './passwords.js';
import { hashRefreshToken, newRefreshToken, type AccessTokens } from './tokens.js';
import { normalizeEmail, validatePassword, validateUsername } from './validation.js';

export interface AuthPayload {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  user: User;
}

export interface UserFilter {
  role?: Role | null;
  disabled?: boolean | null;
  search?: string | null;
}

const INVALID_CREDENTIALS = 'invalid credentials';
const INVALID_REFRESH = 'invalid refresh token';

export interface IdentityDeps {
  config: Config;
  db: Database;
  tokens: AccessTokens;
  authState: AuthState;
  store: LimiterStore;
  security: SecurityEvents;
  audit: AuditLog;
  metrics: Metrics;
  logger: Logger;
}

/** Accounts, sign-in, token rotation and revocation, and user administration. */
export class IdentityService {
  /** Failed logins per (IP, login); when spent, every attempt is refused until the window passes. */
  private readonly loginFailures: RateLimiterAbstract;
  /**
   * Failed logins per account, from any IP and under any of its names (e-mail and username count
   * together); a name that resolves to no account counts under the name, so both look alike.
   */
  private readonly accountLoginFailures: RateLimiterAbstract;

  constructor(private readonly deps: IdentityDeps) {
    const setting = deps.config.rateLimits['loginFailures'] ?? { limit: 5, durationSeconds: 15 * 60 };
    const perAccount = deps.config.rateLimits['loginFailuresPerAccount'] ?? setting;
    this.loginFailures = deps.store.create({
      keyPrefix: 'loginFailures',
      points: setting.limit,
      durationSeconds: setting.durationSeconds,
    });
    this.accountLoginFailures = deps.store.create({
      keyPrefix: 'loginFailuresPerAccount',
      points: perAccount.limit,
      durationSeconds: perAccount.durationSeconds,
    });
  }

  private get prisma() {
    return this.deps.db.prisma;
  }

  async register(input: { email: string; username: string; password: string }, request: RequestInfo): Promise<AuthPayload> {
    const email = normalizeEmail('email', input.email);
    const username = validateUsername('username', input.username);
    const password = validatePassword('password', input.password);
    const passwordHash = await hashPassword(password);
    let user: User;
    try {
      user = await this.prisma.user.create({
        data: { email, username, usernameKey: username.toLowerCase(), passwordHash, role: 'USER' },
      });
    } catch (error) {
      if (isUniqueViolation(error)) {
        const emailTaken = await this.prisma.user.count({ where: { email } });
        throw emailTaken ? conflict('email is already registered', 'email') : conflict('username is taken', 'username');
      }
      throw error;
    }
    this.deps.metrics.authEvents.inc({ event: 'register', result: 'success' });
    return this.startSession(user, request);
  }

  async login(input: { login: string; password: string }, request: RequestInfo): Promise<AuthPayload> {
    const login = input.login.trim().toLowerCase();
    const key = `${request.ip}|${login}`;
    // Each attempt takes a point before the password is checked (so concurrent guesses count too);
    // a success gives the allowance back. With the points spent, every attempt is refused.
    await this.takeLoginAttempt(this.loginFailures, key, 'loginFailures', request, () => this.recordLockout(request, login));

    const user = login.length > 0 && login.length <= 254
      ? await this.prisma.user.findFirst({ where: login.includes('@') ? { email: login } : { usernameKey: login } })
      : null;
    const accountKey = user ? `user:${user.id}` : `name:${login.slice(0, 254)}`;
    await this.takeLoginAttempt(this.accountLoginFailures, accountKey, 'loginFailuresPerAccount', request);
    // Unknown users are verified against a dummy hash so both failures take the same time.
    const passwordOk = await verifyPassword(user?.passwordHash ?? (await dummyPasswordHash()), input.password);
    if (!user || !passwordOk || user.disabled) {
      this.deps.security.loginFailed(request);
      throw unauthenticated(INVALID_CREDENTIALS);
    }

    await this.loginFailures.delete(key).catch(() => undefined);
    await this.accountLoginFailures.delete(accountKey).catch(() => undefined);
    const data: { lastLoginAt: Date; passwordHash?: string } = { lastLoginAt: new Date() };
    if (needsRehash(user.passwordHash)) data.passwordHash = await hashPassword(input.password);
    const updated = await this.prisma.user.update({ where: { id: user.id }, data });
    this.deps.authState.invalidate({ userId: user.id });
    this.deps.metrics.authEvents.inc({ event: 'login', result: 'success' });
    return this.startSession(updated, request);
  }

  /** Takes one login attempt from `limiter` under `key`; RATE_LIMITED when none is left. */
  private async takeLoginAttempt(limiter: RateLimiterAbstract, key: string, limit: string, request: RequestInfo, onSpent?: () => void): Promise<void> {
    try {
      const left = await limiter.consume(key);
      if (left.remainingPoints === 0) onSpent?.();
    } catch (rejection) {
      if (!isLimiterRejection(rejection)) throw rejection;
      this.deps.security.rateLimited(request, limit);
      throw rateLimited(retryAfterSeconds(rejection.msBeforeNext));
    }
  }

  /** The (IP, login) pair spent its allowance: further attempts are refused for the window. */
  private recordLockout(request: RequestInfo, login: string): void {
    this.deps.audit.recordAggregated({
      action: 'loginLocked',
      outcome: 'DENIED',
      targetType: 'Login',
      targetId: login.slice(0, 254),
      ip: request.ip,
      requestId: request.requestId,
    });
  }

  async refresh(refreshToken: string, request: RequestInfo): Promise<AuthPayload> {
    const token = await this.prisma.refreshToken.findUnique({
      where: { tokenHash: hashRefreshToken(refreshToken) },
      include: { session: { include: { user: true } } },
    });
    if (!token) {
      this.deps.metrics.authEvents.inc({ event: 'refresh', result: 'failure' });
      throw unauthenticated(INVALID_REFRESH);
    }
    const { session } = token;
    const now = new Date();
    if (token.usedAt) {
      await this.revokeSessions({ id: session.id }, 'REPLAY');
      this.deps.authState.invalidate({ sessionId: session.id });
      this.deps.security.tokenReplayed(request, session.userId, session.id);
      throw unauthenticated(INVALID_REFRESH);
    }
    if (session.revokedAt || session.expiresAt <= now || token.expiresAt <= now || session.user.disabled) {
      this.deps.metrics.authEvents.inc({ event: 'refresh', result: 'failure' });
      throw unauthenticated(INVALID_REFRESH);
    }
    // Retire the token only if nobody else did meanwhile: a concurrent second use is a replay too.
    const retired = await this.prisma.refreshToken.updateMany({ where: { id: token.id, usedAt: null }, data: { usedAt: now } });
    if (retired.count === 0) {
      await this.revokeSessions({ id: session.id }, 'REPLAY');
      this.deps.authState.invalidate({ sessionId: session.id });
      this.deps.security.tokenReplayed(request, session.userId, session.id);
      throw unauthenticated(INVALID_REFRESH);
    }
    this.deps.metrics.authEvents.inc({ event: 'refresh', result: 'success' });
    return this.issuePair(session.user, session.id, session.expiresAt);
  }

  /** Ends the session of the given refresh token (it must be the viewer's), else the viewer's current one. */
  async logout(viewer: Viewer, refreshToken: string | null | undefined): Promise<boolean> {
    let sessionId = viewer.sessionId;
    if (refreshToken) {
      const token = await this.prisma.refreshToken.findUnique({
        where: { tokenHash: hashRefreshToken(refreshToken) },
        select: { session: { select: { id: true, userId: true } } },
      });
      if (!token || token.session.userId !== viewer.id) throw badInput('refreshToken', 'unknown refresh token');
      sessionId = token.session.id;
    }
    await this.revokeSessions({ id: sessionId }, 'LOGOUT');
    this.deps.authState.invalidate({ sessionId });
    if (sessionId !== viewer.sessionId) {
      // The access token it came with stops working too.
      await this.revokeSessions({ id: viewer.sessionId }, 'LOGOUT');
      this.deps.authState.invalidate({ sessionId: viewer.sessionId });
    }
    return true;
  }

  async logoutAll(viewer: Viewer): Promise<boolean> {
    await this.endEverySession(viewer.id, 'LOGOUT_ALL');
    return true;
  }

  /** Served from the revocation cache: the check that authenticated this request just warmed it. */
  async me(viewer: Viewer): Promise<User> {
    const user = await this.deps.authState.user(viewer.id);
    if (!user) throw unauthenticated();
    return user;
  }

  async updateMe(viewer: Viewer, input: { email?: string | null; username?: string | null }): Promise<User> {
    const data: { email?: string; username?: string; usernameKey?: string } = {};
    if (input.email !== undefined && input.email !== null) data.email = normalizeEmail('email', input.email);
    if (input.username !== undefined && input.username !== null) {
      data.username = validateUsername('username', input.username);
      data.usernameKey = data.username.toLowerCase();
    }
    try {
      const user = await this.prisma.user.update({ where: { id: viewer.id }, data });
      this.deps.authState.invalidate({ userId: viewer.id });
      return user;
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw data.email && (await this.prisma.user.count({ where: { email: data.email, NOT: { id: viewer.id } } }))
          ? conflict('email is already registered', 'email')
          : conflict('username is taken', 'username');
      }
      throw error;
    }
  }

  async changePassword(viewer: Viewer, input: { currentPassword: string; newPassword: string }): Promise<boolean> {
    const user = await this.me(viewer);
    if (!(await verifyPassword(user.passwordHash, input.currentPassword))) {
      throw badInput('currentPassword', 'is incorrect');
    }
    const newPassword = validatePassword('newPassword', input.newPassword);
    const passwordHash = await hashPassword(newPassword);
    await this.prisma.user.update({ where: { id: user.id }, data: { passwordHash } });
    await this.endEverySession(user.id, 'PASSWORD_CHANGED');
    return true;
  }

  async users(first: number | null | undefined, after: string | null | undefined, filter: UserFilter | null | undefined): Promise<Connection<User>> {
    const size = pageSize(first);
    const search = filter?.search?.trim().toLowerCase();
    const where = {
      ...(filter?.role ? { role: filter.role } : {}),
      ...(typeof filter?.disabled === 'boolean' ? { disabled: filter.disabled } : {}),
      ...(search ? { OR: [{ email: { contains: search } }, { usernameKey: { contains: search } }] } : {}),
    };
    const [rows, totalCount] = await Promise.all([
      this.prisma.user.findMany({ where: { AND: [where, afterCursor(decodeCursor(after))] }, orderBy: NEWEST_FIRST, take: size + 1 }),
      this.prisma.user.count({ where }),
    ]);
    return toConnection(rows, size, totalCount);
  }

  async user(id: string): Promise<User | null> {
    return this.prisma.user.findUnique({ where: { id } });
  }

  async setUserRole(actor: Viewer, id: string, role: Role): Promise<User> {
    const target = await this.requireUser(id);
    if (target.role === 'ADMIN' && role !== 'ADMIN') await this.assertNotLastAdmin(actor, target, 'demote');
    const user = await this.prisma.user.update({ where: { id }, data: { role } });
    this.deps.authState.invalidate({ userId: id });
    return user;
  }

  async setUserDisabled(actor: Viewer, id: string, disabled: boolean): Promise<User> {
    const target = await this.requireUser(id);
    if (disabled && target.role === 'ADMIN') await this.assertNotLastAdmin(actor, target, 'disable');
    const user = await this.prisma.user.update({ where: { id }, data: { disabled } });
    if (disabled) await this.endEverySession(id, 'DISABLED');
    else this.deps.authState.invalidate({ userId: id });
    return user;
  }

  /** ADMIN_EMAIL + ADMIN_PASSWORD: create the first ADMIN at start when there is none. */
  async bootstrapAdmin(email: string, password: string): Promise<void> {
    if ((await this.prisma.user.count({ where: { role: 'ADMIN' } })) > 0) return;
    const normalized = normalizeEmail('ADMIN_EMAIL', email);
    const existing = await this.prisma.user.findUnique({ where: { email: normalized } });
    if (existing) {
      await this.prisma.user.update({ where: { id: existing.id }, data: { role: 'ADMIN', disabled: false } });
      this.deps.logger.info({ userId: existing.id }, 'bootstrap: promoted existing user to ADMIN');
      return;
    }
    const base = normalized.split('@')[0]!.replace(/[^A-Za-z0-9_.-]/g, '').slice(0, 24) || 'admin';
    const username = base.length >= 3 ? base : `${base}-admin`;
    const user = await this.prisma.user.create({
      data: { email: normalized, username, usernameKey: username.toLowerCase(), passwordHash: await hashPassword(password), role: 'ADMIN' },
    });
    this.deps.logger.info({ userId: user.id }, 'bootstrap: created the first ADMIN');
  }

  private async requireUser(id: string): Promise<User> {
    const user = await this.prisma.user.findUnique({ where: { id } });
    if (!user) throw notFound('user');
    return user;
  }

  /** The last enabled ADMIN cannot demote or disable themselves: the server would have no ADMIN left. */
  private async assertNotLastAdmin(actor: Viewer, target: User, verb: string): Promise<void> {
    if (actor.id !== target.id) return;
    const admins = await this.prisma.user.count({ where: { role: 'ADMIN', disabled: false } });
    if (admins <= 1) throw new AppError(ErrorCode.CONFLICT, `the last ADMIN cannot ${verb} themselves`);
  }

  private async startSession(user: User, request: RequestInfo): Promise<AuthPayload> {
    const expiresAt = new Date(Date.now() + this.deps.config.refreshTokenTtlSeconds * 1000);
    const session = await this.prisma.session.create({
      data: { userId: user.id, ip: request.ip, userAgent: request.userAgent?.slice(0, 256) ?? null, expiresAt },
    });
    return this.issuePair(user, session.id, expiresAt);
  }

  private async issuePair(user: User, sessionId: string, sessionExpiresAt: Date): Promise<AuthPayload> {
    const refresh = newRefreshToken();
    await this.prisma.refreshToken.create({ data: { sessionId, tokenHash: refresh.hash, expiresAt: sessionExpiresAt } });
    const accessToken = await this.deps.tokens.issue({
      userId: user.id,
      role: user.role as Role,
      sessionId,
      tokenVersion: user.tokenVersion,
    });
    return { accessToken, refreshToken: refresh.token, expiresIn: this.deps.tokens.ttlSeconds, user };
  }

  /** Revokes every session of a user and retires every access token they hold. */
  private async endEverySession(userId: string, reason: string): Promise<void> {
    await this.prisma.user.update({ where: { id: userId }, data: { tokenVersion: { increment: 1 } } });
    await this.revokeSessions({ userId }, reason);
    this.deps.authState.invalidate({ userId });
  }

  private async revokeSessions(where: { id: string } | { userId: string }, reason: string): Promise<void> {
    await this.prisma.session.updateMany({ where: { ...where, revokedAt: null }, data: { revokedAt: new Date(), revokedReason: reason } });
  }
}
