import type { RequestInfo, Viewer } from '../kernel/requestIdentity.js';
import type { SecurityEvents } from './securityEvents.js';

/**
 * What the policy rules and the rate-limit directive read from a request's context. The GraphQL
 * context provides it; defining it here keeps security below the API assembly.
 */
export interface SecurityContext extends RequestInfo {
  viewer: Viewer | null;
  /** Set by login and register: the user this request just signed in as. */
  signedInAs?: string;
  security: SecurityEvents;
}
