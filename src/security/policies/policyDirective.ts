import type { and } from 'graphql-shield';
import type { FeatureName } from '../../config/config.js';
import type { Role } from '../../kernel/roles.js';

/** A shield rule or a logic rule (and/or/chain). */
export type IRule = Parameters<typeof and>[number];

/** What a policy's rule may depend on besides its directive's arguments. */
export interface PolicyEnvironment {
  features: Record<FeatureName, boolean>;
}

/**
 * One policy directive: its SDL name (the definition is in schema/common.graphql), whether it is an
 * access policy (every root field declares exactly one of those), and its rule. A new policy is one
 * module like this, added to POLICIES in ../policy.ts, plus its SDL.
 */
export interface PolicyDirective {
  name: string;
  access: boolean;
  /** The shield rule for one set of arguments; built once per distinct set. */
  rule(args: Record<string, unknown>, env: PolicyEnvironment): IRule;
  /** The least role a signed-in caller needs, if the policy asks one (live subscriptions re-check it). */
  requiredRole?(args: Record<string, unknown>): Role | undefined;
}
