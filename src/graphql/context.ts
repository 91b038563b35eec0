import type { Services } from '../services.js';
import type { Role } from '../security/roles.js';
import type { Loaders } from './loaders.js';

/** The signed-in user, as the context factory resolved it (token verified, session live, user enabled). */
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

export interface GraphQLContext extends RequestInfo {
  viewer: Viewer | null;
  /** Set by login and register: the user this request just signed in as (it may read its own e-mail). */
  signedInAs?: string;
  /** Extra detail for the mutation audit, by the field's response key (e.g. what a maintenance run did). */
  auditDetail?: Record<string, Record<string, unknown>>;
  transport: 'http' | 'ws';
  services: Services;
  /** Shortcut to services.security, used by shield rules and the rate-limit directive. */
  security: Services['security'];
  loaders: Loaders;
}
