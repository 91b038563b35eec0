import { isObjectType, type GraphQLSchema } from 'graphql';
import type { IMiddlewareFieldMap } from 'graphql-middleware';
import { allow, and, deny, shield, type IRules } from 'graphql-shield';
import type { FeatureName } from '../config/config.js';
import { forbidden } from '../errors.js';
import type { IRule, PolicyEnvironment } from './policies/policyDirective.js';
import { assertRootFieldsDeclarePolicy, declaredPolicies, isRootType, type DeclaredPolicy } from './policy.js';

/*
 * Shield rules derived from the SDL's policy directives (one module each, src/security/policies/).
 * A failure returns a GraphQLError with a contract code.
 */

/** Shield wants one instance per rule name: each rule is made once per directive and arguments. */
function ruleBook(env: PolicyEnvironment) {
  const made = new Map<string, IRule>();
  const once = ({ policy, args }: DeclaredPolicy) => {
    const key = `${policy.name}:${JSON.stringify(args)}`;
    let existing = made.get(key);
    if (!existing) made.set(key, (existing = policy.rule(args, env)));
    return existing;
  };
  return (declared: DeclaredPolicy[]): IRule => {
    const parts = declared.map(once).filter((r) => r !== allow);
    if (parts.length === 0) return declared.some((d) => d.policy.access) ? allow : deny;
    return parts.length === 1 ? parts[0]! : and(...parts);
  };
}

/**
 * Builds the rule tree: root fields get exactly the rule their directives declare; object fields
 * follow their parent (allow) unless they declare stricter access. Anything not in the tree is denied.
 */
export function buildRuleTree(schema: GraphQLSchema, features: Record<FeatureName, boolean>): Record<string, Record<string, IRule>> {
  assertRootFieldsDeclarePolicy(schema);
  const ruleFor = ruleBook({ features });
  const tree: Record<string, Record<string, IRule>> = {};
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    const fields: Record<string, IRule> = {};
    for (const field of Object.values(type.getFields())) {
      const declared = declaredPolicies(schema, field);
      // Root fields get exactly what they declare (nothing is deny); object fields follow their parent unless they declare more.
      fields[field.name] = isRootType(type.name) || declared.length > 0 ? ruleFor(declared) : allow;
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
