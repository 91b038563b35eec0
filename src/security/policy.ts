import { getDirective } from '@graphql-tools/utils';
import { isObjectType, type GraphQLField, type GraphQLSchema } from 'graphql';
import type { Role } from '../kernel/roles.js';
import { authPolicy } from './policies/auth.js';
import { featurePolicy } from './policies/feature.js';
import type { PolicyDirective } from './policies/policyDirective.js';
import { publicPolicy } from './policies/public.js';
import { selfOrPolicy } from './policies/selfOr.js';

/**
 * Every policy directive, in the order their rules run on a field: who may call it before whether
 * its area is on, so anonymous callers learn nothing about switched-off areas.
 */
export const POLICIES: readonly PolicyDirective[] = [publicPolicy, authPolicy, selfOrPolicy, featurePolicy];

/** A policy directive as one field declares it. */
export interface DeclaredPolicy {
  policy: PolicyDirective;
  args: Record<string, unknown>;
}

/** A root field without an access policy: the server must not start. */
export class PolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PolicyError';
  }
}

const ROOT_TYPES = ['Query', 'Mutation', 'Subscription'];

/** The policy directives a field declares, in POLICIES order. */
export function declaredPolicies(schema: GraphQLSchema, field: GraphQLField<unknown, unknown>): DeclaredPolicy[] {
  const declared: DeclaredPolicy[] = [];
  for (const policy of POLICIES) {
    const args = getDirective(schema, field, policy.name)?.[0];
    if (args) declared.push({ policy, args });
  }
  return declared;
}

/** The least role a signed-in caller needs for this field, if its policies ask one. */
export function requiredRoleOf(schema: GraphQLSchema, field: GraphQLField<unknown, unknown>): Role | undefined {
  for (const { policy, args } of declaredPolicies(schema, field)) {
    const role = policy.requiredRole?.(args);
    if (role) return role;
  }
  return undefined;
}

/**
 * Secure by default: every root field declares exactly one access policy (`@public` or `@auth`).
 * Throws naming every field that does not.
 */
export function assertRootFieldsDeclarePolicy(schema: GraphQLSchema): void {
  const problems: string[] = [];
  const accessNames = POLICIES.filter((p) => p.access).map((p) => `@${p.name}`);
  for (const typeName of ROOT_TYPES) {
    const type = schema.getType(typeName);
    if (!isObjectType(type)) continue;
    for (const field of Object.values(type.getFields())) {
      const access = declaredPolicies(schema, field).filter((d) => d.policy.access);
      if (access.length === 0) problems.push(`${typeName}.${field.name} declares no access policy (${accessNames.join(' or ')})`);
      if (access.length > 1) problems.push(`${typeName}.${field.name} declares both ${access.map((d) => `@${d.policy.name}`).join(' and ')}`);
    }
  }
  if (problems.length > 0) throw new PolicyError(`Refusing to start: ${problems.join('; ')}`);
}

export function isRootType(typeName: string): boolean {
  return ROOT_TYPES.includes(typeName);
}
