import {
  Kind,
  getNamedType,
  isInterfaceType,
  isObjectType,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLOutputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../kernel/pagination.js';

/*
 * The estimated cost of an operation: each object field costs 1 plus its children; a field taking
 * `first` multiplies its children by it (its default when absent, the maximum page when given as a
 * variable). One calculation for the cost limit (MAX_QUERY_COST), the cost histogram and the cost
 * shown to clients (EXPOSE_COST).
 */

export function fragmentsOf(document: DocumentNode): Map<string, FragmentDefinitionNode> {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  return fragments;
}

/**
 * Each operation's cost, computed once: an operation node belongs to one parsed document, which
 * Apollo keeps (and so this entry) while it caches the document, so a repeated query costs a lookup.
 */
export class QueryCosts {
  private readonly byOperation = new WeakMap<OperationDefinitionNode, number>();

  /** The operation's cost; its document's fragments must be sound (see queryLimits.ts). */
  of(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode): number {
    let cost = this.byOperation.get(operation);
    if (cost === undefined) {
      cost = operationCost(schema, document, operation);
      this.byOperation.set(operation, cost);
    }
    return cost;
  }
}

function operationCost(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode): number {
  const root =
    operation.operation === 'query'
      ? schema.getQueryType()
      : operation.operation === 'mutation'
        ? schema.getMutationType()
        : schema.getSubscriptionType();
  if (!root) return 0;
  const fragments = fragmentsOf(document);
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
