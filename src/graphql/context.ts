import type { Services } from '../services.js';
import type { RequestInfo, Viewer } from '../kernel/requestIdentity.js';
import type { Loaders } from '../kernel/loaders.js';

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
