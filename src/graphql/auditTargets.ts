import { getDirective } from '@graphql-tools/utils';
import type { GraphQLSchema } from 'graphql';
import { PolicyError } from '../security/policy.js';

/**
 * Each mutation's audit target type, as its `@audit(target:)` declares it next to the mutation in
 * the SDL. The server refuses to start when a mutation declares none, so nothing is audited under
 * a guessed target.
 */
export function auditTargets(schema: GraphQLSchema): ReadonlyMap<string, string> {
  const targets = new Map<string, string>();
  const missing: string[] = [];
  for (const field of Object.values(schema.getMutationType()?.getFields() ?? {})) {
    const target = getDirective(schema, field, 'audit')?.[0]?.['target'] as string | undefined;
    if (target) targets.set(field.name, target);
    else missing.push(`Mutation.${field.name} declares no @audit(target:)`);
  }
  if (missing.length > 0) throw new PolicyError(`Refusing to start: ${missing.join('; ')}`);
  return targets;
}
