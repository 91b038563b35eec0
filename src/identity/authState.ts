import type { Database } from '../db/database.js';
import type { User } from '../db/models.js';
import type { Viewer } from '../kernel/requestIdentity.js';
import type { PubSub } from '../messaging/pubsub.js';
import { isRole } from '../kernel/roles.js';
import type { AccessClaims } from './tokens.js';

interface SessionState {
  userId: string;
  live: boolean;
  fetchedAt: number;
}

interface UserState {
  user: User;
  fetchedAt: number;
}

export type ViewerCheck = { viewer: Viewer } | { refused: 'revoked' | 'disabled' };

/** Cached states are re-read after this long even if no invalidation arrived. */
const STATE_TTL_MS = 30_000;
/**
 * The lifetime while invalidations cannot reach every instance (Redis down): a revocation made on
 * another instance is then seen within this bound, at the cost of one database read per session
 * and user per second.
 */
const DEGRADED_STATE_TTL_MS = 1_000;
const MAX_ENTRIES = 100_000;
const INVALIDATE_CHANNEL = 'auth.invalidate';

/**
 * The revocation check that runs on every authenticated request: is the token's session live,
 * is its user enabled, and is the token's version current? Answers come from an in-memory cache
 * of sessions and user records (no database round trip per request; `me` is served from it too),
 * invalidated on every change here and, through pub/sub, on every other instance.
 */
export class AuthState {
  private readonly sessions = new Map<string, SessionState>();
  private readonly users = new Map<string, UserState>();

  constructor(
    private readonly db: Database,
    private readonly pubsub: PubSub,
  ) {
    pubsub.subscribe(INVALIDATE_CHANNEL, (message) => {
      const { sessionId, userId } = message as { sessionId?: string; userId?: string };
      if (sessionId) this.sessions.delete(sessionId);
      if (userId) this.users.delete(userId);
    });
    // Invalidations sent while Redis was down never arrived: start again from the database.
    pubsub.onRestored(() => this.clear());
  }

  /** How long a cached state may be used: short while invalidations may be missed. */
  private ttl(): number {
    return this.pubsub.reachesEveryInstance() ? STATE_TTL_MS : DEGRADED_STATE_TTL_MS;
  }

  async check(claims: AccessClaims): Promise<ViewerCheck> {
    const cached = this.cachedCheck(claims);
    if (cached) return cached;
    const { session, user } = await this.load(claims.sessionId, claims.userId);
    return verdict(claims, session, user?.user);
  }

  /** The answer from fresh cached state alone; undefined when the database must be asked. */
  cachedCheck(claims: AccessClaims): ViewerCheck | undefined {
    const oldest = Date.now() - this.ttl();
    const session = this.sessions.get(claims.sessionId);
    const cached = this.users.get(claims.userId);
    if (!session || session.fetchedAt < oldest || !cached || cached.fetchedAt < oldest) return undefined;
    return verdict(claims, session, cached.user);
  }

  /** The user record, from the cache the revocation check keeps warm. */
  async user(userId: string): Promise<User | null> {
    const cached = this.users.get(userId);
    if (cached && Date.now() - cached.fetchedAt <= this.ttl()) return cached.user;
    const user = await this.db.prisma.user.findUnique({ where: { id: userId } });
    if (user) this.remember(this.users, userId, { user, fetchedAt: Date.now() });
    return user;
  }

  /** Drops cached state here and on every instance; call after any change to a session or user. */
  invalidate(change: { sessionId?: string; userId?: string }): void {
    if (change.sessionId) this.sessions.delete(change.sessionId);
    if (change.userId) this.users.delete(change.userId);
    this.pubsub.publish(INVALIDATE_CHANNEL, change);
  }

  /** Empties the cache (maintenance CLEAR_CACHES); returns the number of entries dropped. */
  clear(): number {
    const count = this.sessions.size + this.users.size;
    this.sessions.clear();
    this.users.clear();
    return count;
  }

  private async load(sessionId: string, userId: string): Promise<{ session?: SessionState; user?: UserState }> {
    const row = await this.db.prisma.session.findUnique({
      where: { id: sessionId },
      select: { userId: true, revokedAt: true, expiresAt: true, user: true },
    });
    if (!row || row.userId !== userId) return {};
    const fetchedAt = Date.now();
    const session: SessionState = { userId: row.userId, live: !row.revokedAt && row.expiresAt.getTime() > fetchedAt, fetchedAt };
    const user: UserState = { user: row.user, fetchedAt };
    this.remember(this.sessions, sessionId, session);
    this.remember(this.users, userId, user);
    return { session, user };
  }

  private remember<T>(map: Map<string, T>, key: string, value: T): void {
    if (map.size >= MAX_ENTRIES) map.delete(map.keys().next().value!);
    map.set(key, value);
  }
}

/** Whether a token's claims still hold against its session and user as last read. */
function verdict(claims: AccessClaims, session: SessionState | undefined, user: User | undefined): ViewerCheck {
  if (!session || !user || session.userId !== claims.userId) return { refused: 'revoked' };
  // Disabled first: disabling also ends every session, and the holder should learn why.
  if (user.disabled) return { refused: 'disabled' };
  if (!session.live || user.tokenVersion !== claims.tokenVersion || !isRole(user.role)) return { refused: 'revoked' };
  return { viewer: { id: user.id, role: user.role, sessionId: claims.sessionId } };
}
