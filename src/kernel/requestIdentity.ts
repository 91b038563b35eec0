import type { Role } from './roles.js';

/*
 * Who is asking, known to every layer: a types-only leaf, so that domains, security and the
 * transports share these shapes without importing each other (or the GraphQL context).
 */

/** The signed-in user, as admission resolved it (token verified, session live, user enabled). */
export interface Viewer {
  id: string;
  /** The user's current role (from the user record, not the token). */
  role: Role;
  sessionId: string;
}

/** What a request knows about where it came from. */
export interface RequestInfo {
  requestId: string;
  ip: string;
  userAgent: string | undefined;
}
