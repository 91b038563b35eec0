import depthLimit from 'graphql-depth-limit';
import { GraphQLError, Kind, Lexer, Source, TokenKind, type DocumentNode, type SelectionSetNode, type ValidationRule } from 'graphql';
import type { LimitMode, LimitName } from '../config/config.js';
import type { MeasuredLimits } from './measuredLimits.js';
import { QueryCosts, fragmentsOf } from './queryCost.js';

/*
 * Query limits as validation rules: they run before execution, on HTTP and WebSocket alike,
 * and Apollo caches a validated document so they cost nothing on a repeated query.
 * Each rule either enforces its limit (a validation error) or, given `measured`, measures it: the
 * document is valid and what it exceeds is noted for MeasuredLimits to report per operation.
 */

export interface QueryLimits {
  maxDepth: number;
  maxAliases: number;
  maxDirectives: number;
  maxCost: number;
  maxTokens: number;
}

/**
 * With the token limit in measure mode the parser still stops at this multiple of MAX_TOKENS:
 * parsing an unbounded document is a denial of service of its own.
 */
export const MEASURED_TOKENS_CEILING = 10;

/** The `maxTokens` the parser is given: the limit itself, or the hard ceiling when it is measured. */
export function parserTokenLimit(maxTokens: number, mode: LimitMode): number {
  return mode === 'measure' ? maxTokens * MEASURED_TOKENS_CEILING : maxTokens;
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
export function depthRule(maxDepth: number, measured?: MeasuredLimits): ValidationRule {
  const enforced = depthLimit(maxDepth) as unknown as ValidationRule;
  return (context) => {
    const document = context.getDocument();
    if (!fragmentsAreSound(document)) return {};
    // The expansion bound protects the depth walk itself: enforced in either mode.
    if (expandedFieldCount(document) > MAX_EXPANDED_FIELDS) {
      context.reportError(limitError(`Query is too complex: its fragments expand to more than ${MAX_EXPANDED_FIELDS} fields`, 'fragments'));
      return {};
    }
    if (!measured) return enforced(context);
    // No bound: graphql-depth-limit then reports nothing and hands back each operation's depth.
    const measure = depthLimit(Infinity, {}, (depths: Record<string, number>) => {
      const depth = Math.max(0, ...Object.values(depths));
      if (depth > maxDepth) measured.noteDocument(document, { limit: 'depth', value: depth, max: maxDepth });
    }) as unknown as ValidationRule;
    measure(context);
    return {};
  };
}

/** At most `max` aliases in the whole document: one alias per field can multiply a costly field. */
export function aliasRule(max: number, measured?: MeasuredLimits): ValidationRule {
  return (context) => {
    let count = 0;
    return {
      Field(node) {
        if (node.alias && ++count === max + 1 && !measured) {
          context.reportError(limitError(`Too many aliases: at most ${max} per document`, 'aliases'));
        }
      },
      Document: { leave: (document) => void (measured && count > max && measured.noteDocument(document, { limit: 'aliases', value: count, max })) },
    };
  };
}

/** At most `max` directive uses in the whole document. */
export function directiveCountRule(max: number, measured?: MeasuredLimits): ValidationRule {
  return (context) => {
    let count = 0;
    return {
      Directive() {
        if (++count === max + 1 && !measured) {
          context.reportError(limitError(`Too many directives: at most ${max} per document`, 'directives'));
        }
      },
      Document: { leave: (document) => void (measured && count > max && measured.noteDocument(document, { limit: 'directives', value: count, max })) },
    };
  };
}

/**
 * Cost, as src/security/queryCost.ts estimates it; each operation's cost is kept in `costs` for
 * the cost histogram and EXPOSE_COST.
 */
export function costRule(maxCost: number, costs = new QueryCosts(), measured?: MeasuredLimits): ValidationRule {
  return (context) => ({
    Document: {
      leave(document) {
        if (!fragmentsAreSound(document)) return;
        let highest = 0;
        for (const def of document.definitions) {
          if (def.kind !== Kind.OPERATION_DEFINITION) continue;
          const cost = costs.of(context.getSchema(), document, def);
          highest = Math.max(highest, cost);
          if (cost > maxCost && !measured) {
            context.reportError(limitError(`Query is too costly: ${cost} > ${maxCost}`, 'cost'));
          }
        }
        if (measured && highest > maxCost) measured.noteDocument(document, { limit: 'cost', value: highest, max: maxCost });
      },
    },
  });
}

/**
 * Tokens in measure mode only: when enforced, the parser itself stops at MAX_TOKENS. Counted as
 * the parser counts them (comments excluded), once per document.
 */
export function tokenMeasureRule(maxTokens: number, measured: MeasuredLimits): ValidationRule {
  return (context) => {
    const document = context.getDocument();
    const body = document.loc?.source.body;
    if (body !== undefined) {
      const tokens = tokenCount(body);
      if (tokens > maxTokens) measured.noteDocument(document, { limit: 'tokens', value: tokens, max: maxTokens });
    }
    return {};
  };
}

function tokenCount(body: string): number {
  const lexer = new Lexer(new Source(body));
  let count = 0;
  while (lexer.advance().kind !== TokenKind.EOF) count++;
  return count;
}

/** The query limits as validation rules, each enforced or measured as `measured.modes` says. */
export function queryLimitRules(limits: QueryLimits, costs: QueryCosts, measured: MeasuredLimits): ValidationRule[] {
  const measuring = (limit: LimitName) => (measured.modes[limit] === 'measure' ? measured : undefined);
  const rules = [
    depthRule(limits.maxDepth, measuring('depth')),
    aliasRule(limits.maxAliases, measuring('aliases')),
    directiveCountRule(limits.maxDirectives, measuring('directives')),
    costRule(limits.maxCost, costs, measuring('cost')),
  ];
  if (measured.modes.tokens === 'measure') rules.push(tokenMeasureRule(limits.maxTokens, measured));
  return rules;
}
