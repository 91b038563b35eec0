import { getDirective } from '@graphql-tools/utils';
import { isObjectType, type GraphQLField, type GraphQLSchema } from 'graphql';
import type { FeatureName } from '../config/config.js';
import type { Role } from '../kernel/roles.js';

/** Who may call a field, as its SDL directives declare it. */
export interface FieldPolicy {
  /** `@public`: anyone. */
  public: boolean;
  /** `@auth(requires:)`: the least role, when signed in is required. */
  requires?: Role;
  /** `@selfOr(requires:)`: the object's own user, or this role. */
  selfOr?: Role;
  /** `@feature(name:)`: the switchable area the field belongs to. */
  feature?: FeatureName;
}

/** A root field without a policy directive: the server must not start. */
export class PolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PolicyError';
  }
}

const ROOT_TYPES = ['Query', 'Mutation', 'Subscription'];

export function policyOf(schema: GraphQLSchema, field: GraphQLField<unknown, unknown>): FieldPolicy {
  const first = (name: string) => getDirective(schema, field, name)?.[0];
  const auth = first('auth');
  const selfOr = first('selfOr');
  const feature = first('feature');
  return {
    public: first('public') !== undefined,
    requires: auth ? ((auth['requires'] as Role | undefined) ?? 'USER') : undefined,
    selfOr: selfOr ? ((selfOr['requires'] as Role | undefined) ?? 'ADMIN') : undefined,
    feature: feature?.['name'] as FeatureName | undefined,
  };
}

/**
 * Secure by default: every root field must declare exactly one of `@public` or `@auth`.
 * Throws naming every field that does not.
 */
export function assertRootFieldsDeclarePolicy(schema: GraphQLSchema): void {
  const problems: string[] = [];
  for (const typeName of ROOT_TYPES) {
    const type = schema.getType(typeName);
    if (!isObjectType(type)) continue;
    for (const field of Object.values(type.getFields())) {
      const policy = policyOf(schema, field);
      const declared = Number(policy.public) + Number(policy.requires !== undefined);
      if (declared === 0) problems.push(`${typeName}.${field.name} declares no access policy (@public or @auth)`);
      if (declared > 1) problems.push(`${typeName}.${field.name} declares both @public and @auth`);
    }
  }
  if (problems.length > 0) throw new PolicyError(`Refusing to start: ${problems.join('; ')}`);
}

export function isRootType(typeName: string): boolean {
  return ROOT_TYPES.includes(typeName);
}
