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
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../kernel/pagination.js';

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

function limitError(message: string, limit: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'GRAPHQL_VALIDATION_FAILED', limit } });
}

/**
 * Whether every fragment spread names a defined fragment and no fragment spreads itself.
 * graphql's own rules report both; the depth and cost walks below must not recurse into them.
 */
function fragmentsAreSound(document: DocumentNode): boolean {
  const fragments = fragmentsOf(document);
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

function fragmentsOf(document: DocumentNode): Map<string, FragmentDefinitionNode> {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  return fragments;
}

/** The most fields a document may expand to through its fragments. */
const MAX_EXPANDED_FIELDS = 10_000;

/**
 * Fields in the document once its fragments are inlined, counting each fragment once (sound
 * fragments only). Fragments that spread the next one twice grow it exponentially: 30 of them,
 * 300 tokens, expand to a billion fields, and graphql-depth-limit would walk every one.
 */
function expandedFieldCount(document: DocumentNode): number {
  const fragments = fragmentsOf(document);
  const perFragment = new Map<string, number>();
  const count = (set: SelectionSetNode | undefined): number => {
    let total = 0;
    for (const sel of set?.selections ?? []) {
      if (sel.kind !== Kind.FRAGMENT_SPREAD) {
        total += (sel.kind === Kind.FIELD ? 1 : 0) + count(sel.selectionSet);
        continue;
      }
      let fragmentTotal = perFragment.get(sel.name.value);
      if (fragmentTotal === undefined) {
        fragmentTotal = count(fragments.get(sel.name.value)?.selectionSet);
        perFragment.set(sel.name.value, fragmentTotal);
      }
      total += fragmentTotal;
    }
    return total;
  };
  let total = 0;
  for (const def of document.definitions) if (def.kind === Kind.OPERATION_DEFINITION) total += count(def.selectionSet);
  return total;
}

/**
 * graphql-depth-limit, counting through fragments. Skipped for unsound fragments (graphql reports
 * them), and refused without the walk when the fragments expand past MAX_EXPANDED_FIELDS.
 */
export function depthRule(maxDepth: number): ValidationRule {
  const inner = depthLimit(maxDepth) as unknown as ValidationRule;
  return (context) => {
    const document = context.getDocument();
    if (!fragmentsAreSound(document)) return {};
    if (expandedFieldCount(document) > MAX_EXPANDED_FIELDS) {
      context.reportError(limitError(`Query is too complex: its fragments expand to more than ${MAX_EXPANDED_FIELDS} fields`, 'fragments'));
      return {};
    }
    return inner(context);
  };
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
 * children by it (its default when absent, the maximum page when given as a variable).
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
  const fragments = fragmentsOf(context.getDocument());
  // A fragment costs the same wherever it is spread: computed once, or repeated spreads turn exponential.
  const fragmentCosts = new Map<string, number>();

  const pageSize = (field: GraphQLField<unknown, unknown>, value: ValueNode | undefined): number => {
    if (value?.kind === Kind.INT) return Math.max(1, Number(value.value));
    // A variable's default does not bound the value a request sends, and the validated document
    // is cached across requests: count the most a page may hold.
    if (value?.kind === Kind.VARIABLE) return MAX_PAGE_SIZE;
    const declared = field.args.find((a) => a.name === 'first')?.defaultValue;
    return typeof declared === 'number' ? declared : DEFAULT_PAGE_SIZE;
  };

  const walk = (set: SelectionSetNode | undefined, parentType: GraphQLOutputType | null | undefined): number => {
    if (!set) return 0;
    const named = parentType ? getNamedType(parentType) : undefined;
    let total = 0;
    for (const sel of set.selections) {
      if (sel.kind === Kind.FRAGMENT_SPREAD) {
        let cost = fragmentCosts.get(sel.name.value);
        if (cost === undefined) {
          const fragment = fragments.get(sel.name.value);
          const typeCondition = fragment && schema.getType(fragment.typeCondition.name.value);
          cost = walk(fragment?.selectionSet, typeCondition as GraphQLOutputType | undefined);
          fragmentCosts.set(sel.name.value, cost);
        }
        total += cost;
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
