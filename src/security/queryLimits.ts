import depthLimit from 'graphql-depth-limit';
import {
  GraphQLError,
  Kind,
  getNamedType,
  isObjectType,
  isInterfaceType,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLOutputType,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
  type ValueNode,
} from 'graphql';

/*
 * Query limits as validation rules: they run before execution, on HTTP and WebSocket alike,
 * and Apollo caches a validated document so they cost nothing on a repeated query.
 */

export interface QueryLimits {
  maxDepth: number;
  maxAliases: number;
  maxDirectives: number;
  maxCost: number;
}

/** Default page size and the most a connection returns: the cost of `first` as a variable. */
const DEFAULT_PAGE = 20;
const MAX_PAGE = 100;

function limitError(message: string, limit: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'GRAPHQL_VALIDATION_FAILED', limit } });
}

/**
 * Whether every fragment spread names a defined fragment and no fragment spreads itself.
 * graphql's own rules report both; the depth and cost walks below must not recurse into them.
 */
function fragmentsAreSound(document: DocumentNode): boolean {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  const state = new Map<string, 'visiting' | 'done'>();
  const spreadsIn = (set: SelectionSetNode | undefined, out: string[] = []): string[] => {
    for (const sel of set?.selections ?? []) {
      if (sel.kind === Kind.FRAGMENT_SPREAD) out.push(sel.name.value);
      else spreadsIn(sel.selectionSet, out);
    }
    return out;
  };
  const visit = (name: string): boolean => {
    const fragment = fragments.get(name);
    if (!fragment) return false;
    const seen = state.get(name);
    if (seen === 'done') return true;
    if (seen === 'visiting') return false;
    state.set(name, 'visiting');
    const ok = spreadsIn(fragment.selectionSet).every(visit);
    state.set(name, 'done');
    return ok;
  };
  for (const def of document.definitions) {
    if (def.kind === Kind.OPERATION_DEFINITION && !spreadsIn(def.selectionSet).every(visit)) return false;
  }
  return [...fragments.keys()].every(visit);
}

/** graphql-depth-limit, counting through fragments; skipped for unsound fragments (reported by graphql). */
export function depthRule(maxDepth: number): ValidationRule {
  const inner = depthLimit(maxDepth) as unknown as ValidationRule;
  return (context) => (fragmentsAreSound(context.getDocument()) ? inner(context) : {});
}

/** At most `max` aliases in the whole document: one alias per field can multiply a costly field. */
export function aliasRule(max: number): ValidationRule {
  return (context) => {
    let count = 0;
    return {
      Field(node) {
        if (node.alias && ++count === max + 1) {
          context.reportError(limitError(`Too many aliases: at most ${max} per document`, 'aliases'));
        }
      },
    };
  };
}

/** At most `max` directive uses in the whole document. */
export function directiveCountRule(max: number): ValidationRule {
  return (context) => {
    let count = 0;
    return {
      Directive() {
        if (++count === max + 1) {
          context.reportError(limitError(`Too many directives: at most ${max} per document`, 'directives'));
        }
      },
    };
  };
}

/**
 * Cost: each object field costs 1 plus its children; a field taking `first` multiplies its
 * children by it (its default when absent, the maximum page when given as a variable without default).
 */
export function costRule(maxCost: number): ValidationRule {
  return (context) => ({
    Document: {
      leave(document) {
        if (!fragmentsAreSound(document)) return;
        for (const def of document.definitions) {
          if (def.kind !== Kind.OPERATION_DEFINITION) continue;
          const cost = operationCost(context, def);
          if (cost > maxCost) {
            context.reportError(limitError(`Query is too costly: ${cost} > ${maxCost}`, 'cost'));
          }
        }
      },
    },
  });
}

function operationCost(context: ValidationContext, operation: OperationDefinitionNode): number {
  const schema = context.getSchema();
  const root =
    operation.operation === 'query'
      ? schema.getQueryType()
      : operation.operation === 'mutation'
        ? schema.getMutationType()
        : schema.getSubscriptionType();
  if (!root) return 0;
  const variableDefaults = new Map<string, ValueNode | undefined>();
  for (const v of operation.variableDefinitions ?? []) variableDefaults.set(v.variable.name.value, v.defaultValue);
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of context.getDocument().definitions) {
    if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  }

  const pageSize = (field: GraphQLField<unknown, unknown>, value: ValueNode | undefined): number => {
    if (value?.kind === Kind.INT) return Math.max(1, Number(value.value));
    if (value?.kind === Kind.VARIABLE) {
      const fallback = variableDefaults.get(value.name.value);
      return fallback?.kind === Kind.INT ? Math.max(1, Number(fallback.value)) : MAX_PAGE;
    }
    const declared = field.args.find((a) => a.name === 'first')?.defaultValue;
    return typeof declared === 'number' ? declared : DEFAULT_PAGE;
  };

  const walk = (set: SelectionSetNode | undefined, parentType: GraphQLOutputType | null | undefined): number => {
    if (!set) return 0;
    const named = parentType ? getNamedType(parentType) : undefined;
    let total = 0;
    for (const sel of set.selections) {
      if (sel.kind === Kind.FRAGMENT_SPREAD) {
        const fragment = fragments.get(sel.name.value);
        const typeCondition = fragment && schema.getType(fragment.typeCondition.name.value);
        total += walk(fragment?.selectionSet, typeCondition as GraphQLOutputType | undefined);
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        const typeCondition = sel.typeCondition ? schema.getType(sel.typeCondition.name.value) : named;
        total += walk(sel.selectionSet, typeCondition as GraphQLOutputType | undefined);
      } else if (named && (isObjectType(named) || isInterfaceType(named))) {
        const field = named.getFields()[sel.name.value];
        if (!field || !sel.selectionSet) continue;
        // Lists without `first` (edges, tags) are bounded by the parent's page: no extra multiplier.
        const takesFirst = field.args.some((a) => a.name === 'first');
        const first = sel.arguments?.find((a) => a.name.value === 'first')?.value;
        const multiplier = takesFirst ? pageSize(field, first) : 1;
        total += 1 + multiplier * walk(sel.selectionSet, field.type);
      }
    }
    return total;
  };
  return walk(operation.selectionSet, root);
}

export function queryLimitRules(limits: QueryLimits): ValidationRule[] {
  return [
    depthRule(limits.maxDepth),
    aliasRule(limits.maxAliases),
    directiveCountRule(limits.maxDirectives),
    costRule(limits.maxCost),
  ];
}
