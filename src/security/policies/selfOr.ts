import { rule } from 'graphql-shield';
import { forbidden, unauthenticated } from '../../errors.js';
import { roleAtLeast, type Role } from '../../kernel/roles.js';
import type { SecurityContext } from '../securityContext.js';
import type { PolicyDirective } from './policyDirective.js';

/** `@selfOr(requires: Role = ADMIN)`: the user this object is (or just signed in as), or a viewer with the role. */
export const selfOrPolicy: PolicyDirective = {
  name: 'selfOr',
  access: false,
  rule: (args) => {
    const role = (args['requires'] as Role | undefined) ?? 'ADMIN';
    // No cache: the check is cheap, and shield's 'strict' cache hashes the whole parent object.
    return rule(`selfOr:${role}`, { cache: 'no_cache' })((parent: { id?: string }, _args, ctx: SecurityContext) => {
      if (parent.id !== undefined && (parent.id === ctx.viewer?.id || parent.id === ctx.signedInAs)) return true;
      if (ctx.viewer && roleAtLeast(ctx.viewer.role, role)) return true;
      return ctx.viewer ? forbidden() : unauthenticated();
    });
  },
};
