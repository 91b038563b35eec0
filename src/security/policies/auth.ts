import { and, rule } from 'graphql-shield';
import { forbidden, unauthenticated } from '../../errors.js';
import { roleAtLeast, type Role } from '../../kernel/roles.js';
import type { SecurityContext } from '../securityContext.js';
import type { IRule, PolicyDirective } from './policyDirective.js';

/*
 * `@auth(requires: Role = USER)`: a signed-in, enabled user whose role is at least `requires`.
 * Rules never parse tokens: admission resolved the viewer once. Each refusal is a security event.
 */

const signedIn = rule('signedIn', { cache: 'contextual' })((_parent, _args, ctx: SecurityContext, info) => {
  if (ctx.viewer) return true;
  ctx.security.denied(ctx, `${info.parentType.name}.${info.fieldName}`, 'UNAUTHENTICATED');
  return unauthenticated();
});

function hasRole(role: Role): IRule {
  const check = rule(`hasRole:${role}`, { cache: 'contextual' })((_parent, _args, ctx: SecurityContext, info) => {
    if (ctx.viewer && roleAtLeast(ctx.viewer.role, role)) return true;
    ctx.security.denied(ctx, `${info.parentType.name}.${info.fieldName}`, 'FORBIDDEN');
    return forbidden(`requires role ${role}`);
  });
  return role === 'USER' ? signedIn : and(signedIn, check);
}

const requiredRole = (args: Record<string, unknown>) => (args['requires'] as Role | undefined) ?? 'USER';

export const authPolicy: PolicyDirective = {
  name: 'auth',
  access: true,
  rule: (args) => hasRole(requiredRole(args)),
  requiredRole,
};
