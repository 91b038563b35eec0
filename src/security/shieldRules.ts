import { isObjectType, type GraphQLSchema } from 'graphql';
import type { IMiddlewareFieldMap } from 'graphql-middleware';
import { allow, and, deny, rule, shield, type IRules } from 'graphql-shield';
import type { FeatureName } from '../config/config.js';
import { featureDisabled, forbidden, unauthenticated } from '../errors.js';
import type { SecurityContext } from './securityContext.js';
import { assertRootFieldsDeclarePolicy, isRootType, policyOf, type FieldPolicy } from './policy.js';
import { roleAtLeast, type Role } from '../kernel/roles.js';

/** A shield rule or a logic rule (and/or/chain). */
type IRule = Parameters<typeof and>[number];

/*
 * Shield rules derived from the SDL's policy directives. Rules never parse tokens: the context
 * factory resolved the viewer once. A failure returns a GraphQLError with a contract code.
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

/** The object is the viewer (or the user this request just signed in as), or the viewer has the role. */
function selfOr(role: Role): IRule {
  // No cache: the check is cheap, and shield's 'strict' cache hashes the whole parent object.
  return rule(`selfOr:${role}`, { cache: 'no_cache' })((parent: { id?: string }, _args, ctx: SecurityContext) => {
    if (parent.id !== undefined && (parent.id === ctx.viewer?.id || parent.id === ctx.signedInAs)) return true;
    if (ctx.viewer && roleAtLeast(ctx.viewer.role, role)) return true;
    return ctx.viewer ? forbidden() : unauthenticated();
  });
}

function featureOn(features: Record<FeatureName, boolean>, name: FeatureName): IRule {
  return rule(`feature:${name}`, { cache: 'contextual' })(() => (features[name] ? true : featureDisabled(name)));
}

/** Shield wants one instance per rule name: each rule is made once per tree. */
function ruleBook(features: Record<FeatureName, boolean>) {
  const made = new Map<string, IRule>();
  const once = (name: string, make: () => IRule) => {
    let existing = made.get(name);
    if (!existing) made.set(name, (existing = make()));
    return existing;
  };
  return (policy: FieldPolicy): IRule => {
    const parts: IRule[] = [];
    const { requires, selfOr: selfRole, feature } = policy;
    if (requires) parts.push(once(`role:${requires}`, () => hasRole(requires)));
    if (selfRole) parts.push(once(`selfOr:${selfRole}`, () => selfOr(selfRole)));
    if (feature) parts.push(once(`feature:${feature}`, () => featureOn(features, feature)));
    if (parts.length === 0) return policy.public ? allow : deny;
    // Auth is checked before the feature switch, so anonymous callers learn nothing about it.
    return parts.length === 1 ? parts[0]! : and(...parts);
  };
}

/**
 * Builds the rule tree: root fields get exactly the rule their directives declare; object fields
 * follow their parent (allow) unless they declare stricter access. Anything not in the tree is denied.
 */
export function buildRuleTree(schema: GraphQLSchema, features: Record<FeatureName, boolean>): Record<string, Record<string, IRule>> {
  assertRootFieldsDeclarePolicy(schema);
  const ruleFor = ruleBook(features);
  const tree: Record<string, Record<string, IRule>> = {};
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    const fields: Record<string, IRule> = {};
    for (const field of Object.values(type.getFields())) {
      const policy = policyOf(schema, field);
      const declared = isRootType(type.name) || policy.selfOr || policy.requires || policy.feature;
      fields[field.name] = declared ? ruleFor(policy) : allow;
    }
    tree[type.name] = fields;
  }
  return tree;
}

/**
 * Shield's middleware for the schema, minus the fields whose rule is `allow`: those follow their
 * parent, and leaving them unwrapped keeps their resolvers synchronous (shield wraps every field in
 * an async function). Every other field, including any the tree does not name, keeps its wrapper,
 * so the fallback still denies.
 */
export function shieldMiddleware(schema: GraphQLSchema, features: Record<FeatureName, boolean>): Record<string, IMiddlewareFieldMap> {
  const tree = buildRuleTree(schema, features);
  const generator = shield(tree as IRules, {
    fallbackRule: deny,
    // Resolver errors pass through; formatError masks anything that is not a deliberate error.
    allowExternalErrors: true,
    fallbackError: () => forbidden(),
  });
  const middleware = generator.generate(schema) as Record<string, IMiddlewareFieldMap>;
  for (const [typeName, fields] of Object.entries(tree)) {
    for (const [fieldName, fieldRule] of Object.entries(fields)) {
      if (fieldRule === allow) delete middleware[typeName]?.[fieldName];
    }
  }
  return middleware;
}
