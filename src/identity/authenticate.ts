import { AppError, ErrorCode, forbidden, unauthenticated } from '../errors.js';
import type { RequestInfo, Viewer } from '../kernel/requestIdentity.js';
import type { SecurityEvents } from '../security/securityEvents.js';
import type { AuthState } from './authState.js';
import { InvalidTokenError, bearerToken, type AccessTokens } from './tokens.js';

export interface Authenticator {
  tokens: AccessTokens;
  authState: AuthState;
  security: SecurityEvents;
}

/**
 * Resolves the viewer from an `Authorization: Bearer` value, once per request (HTTP) or connection
 * (WebSocket). No header: anonymous (null). A presented token that is malformed, forged, expired,
 * revoked or belongs to a disabled user is refused, never silently treated as anonymous.
 */
export async function authenticate(auth: Authenticator, header: string | undefined, request: RequestInfo): Promise<Viewer | null> {
  const token = bearerToken(header);
  if (token === undefined) return null;
  if (token === null) {
    auth.security.invalidToken(request, 'malformed');
    throw unauthenticated('invalid token');
  }
  let claims;
  try {
    claims = await auth.tokens.verify(token);
  } catch (error) {
    if (!(error instanceof InvalidTokenError)) throw error;
    auth.security.invalidToken(request, error.reason);
    throw unauthenticated(error.reason === 'expired' ? 'token expired' : 'invalid token');
  }
  const check = await auth.authState.check(claims);
  if ('refused' in check) {
    auth.security.invalidToken(request, check.refused);
    throw check.refused === 'disabled' ? forbidden('account disabled') : unauthenticated('token revoked');
  }
  return check.viewer;
}

/**
 * `authenticate`'s answer when caches alone can give it, with no waiting: the viewer, or null for
 * no header. Undefined means "ask `authenticate`": a token not verified yet, stale state, or any
 * refusal (which `authenticate` then reports and records).
 */
export function authenticateFromCache(auth: Authenticator, header: string | undefined): Viewer | null | undefined {
  const token = bearerToken(header);
  if (token === undefined) return null;
  if (token === null) return undefined;
  const claims = auth.tokens.cachedClaims(token);
  const check = claims && auth.authState.cachedCheck(claims);
  return check && 'viewer' in check ? check.viewer : undefined;
}

/** HTTP status for an authentication refusal. */
export function statusOf(error: AppError): number {
  return error.extensions['code'] === ErrorCode.FORBIDDEN ? 403 : 401;
}
