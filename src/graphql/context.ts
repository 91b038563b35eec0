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
  transport: 'http' | 'ws';
  services: Services;
  /** Shortcut to services.security, used by shield rules and the rate-limit directive. */
  security: Services['security'];
  loaders: Loaders;
}
