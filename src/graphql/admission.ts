import {
  GraphQLError,
  NoSchemaIntrospectionCustomRule,
  getOperationAST,
  getVariableValues,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ValidationRule,
} from 'graphql';
import { AppError, ErrorCode } from '../errors.js';
import { authenticate, authenticateFromCache } from '../identity/authenticate.js';
import { UNTRUSTED_OPERATION } from '../observability/metrics.js';
import type { ClientGate } from '../security/clientGate.js';
import type { MeasuredLimits } from '../security/measuredLimits.js';
import type { QueryCosts } from '../security/queryCost.js';
import { parserTokenLimit } from '../security/queryLimits.js';
import type { RequestBudget } from '../security/requestBudget.js';
import type { OperationSource } from '../security/trustedDocuments.js';
import type { DocumentChecks } from '../security/trustedManifest.js';
import type { Config } from '../config/config.js';
import type { Services } from '../services.js';
import { VALIDATION_OPTIONS } from './apollo.js';
import type { GraphQLContext } from './context.js';
import { RefusedDocuments } from './refusedDocuments.js';
import type { RequestInfo, Viewer } from '../kernel/requestIdentity.js';
import { Loaders } from '../kernel/loaders.js';

export interface OperationPayload extends OperationSource {
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
}

export interface PreparedOperation {
  document: DocumentNode;
  operation: OperationDefinitionNode;
  /** As sent: execution coerces them itself; `prepare` has checked that they coerce. */
  variableValues: Record<string, unknown> | undefined;
}

/**
 * The checks step 4 gives a request's document, for the trusted-documents list to apply to each of
 * its documents at load: graphql's rules, no introspection in production (Apollo adds that rule to
 * every HTTP request), the token limit and the query limits.
 */
export function documentChecks(config: Config, schema: GraphQLSchema, limitRules: ValidationRule[]): DocumentChecks {
  return {
    schema,
    parseOptions: { maxTokens: config.maxTokens },
    rules: config.production ? [...specifiedRules, NoSchemaIntrospectionCustomRule] : specifiedRules,
    limitRules,
    maxErrors: VALIDATION_OPTIONS.maxErrors,
    skipLimits: config.trustedDocumentsSkipLimits,
  };
}

/**
 * The one admission pipeline every transport calls, in this order:
 * 1. the client gate: client address, trusted hosts, IP lists, automatic blocks;
 * 2. authentication (a presented bad token is refused, never treated as anonymous);
 * 3. the per-key request budget;
 * 4. trusted documents, parse with the token limit, validation with the query limits, variables;
 *    then, per executed operation, `account`: its estimated cost observed, the limits it exceeds
 *    in measure mode reported;
 * 5. the context, built by one factory.
 * HTTP runs steps 1–3 and 5 here and hands step 4's rules to Apollo (`parseOptions`,
 * `validationRules`; `account` from the operation metrics plugin); WebSocket runs all five here.
 * A gate added here applies to both.
 */
export class Admission {
  readonly parseOptions: { maxTokens: number };
  /** Step 4's refusals, remembered so that a repeat costs a look-up (HTTP; Apollo records them). */
  readonly refusedDocuments = new RefusedDocuments();
  /** Whether answers carry the estimated cost (EXPOSE_COST). */
  readonly exposeCost: boolean;
  readonly maxCost: number;
  /** The cost histogram's label per document: a trusted document's name, else "other". */
  private readonly costLabels = new WeakMap<DocumentNode, string>();

  constructor(
    private readonly services: Services,
    readonly gate: ClientGate,
    readonly budget: RequestBudget,
    private readonly schema: GraphQLSchema,
    readonly validationRules: ValidationRule[],
    private readonly costs: QueryCosts,
    private readonly measured: MeasuredLimits,
  ) {
    const { config } = services;
    this.parseOptions = { maxTokens: parserTokenLimit(config.maxTokens, config.limitModes.tokens) };
    this.exposeCost = config.exposeCost;
    this.maxCost = config.maxCost;
  }

  /** Step 2. Most requests carry a token seen before: answered from the caches without awaiting anything. */
  authenticate(header: string | undefined, request: RequestInfo): Viewer | null | Promise<Viewer | null> {
    const known = authenticateFromCache(this.services, header);
    return known !== undefined ? known : authenticate(this.services, header, request);
  }

  /** Step 4, for transports that execute themselves: the operation ready to run, or the errors to answer with. */
  prepare(payload: OperationPayload): PreparedOperation | readonly GraphQLError[] {
    if (this.services.trustedDocuments) {
      const trusted = this.services.trustedDocuments.resolve(payload);
      if (!trusted.ok) return [new AppError(trusted.code, trusted.message)];
      // Parsed and validated at load, with the query limits unless it is exempted from them.
      if (trusted.outcome === 'trusted') return this.withVariables(trusted.document.document, payload);
    }
    const query = payload.query;
    if (typeof query !== 'string') return [new AppError(ErrorCode.BAD_USER_INPUT, 'a query is required')];
    let document: DocumentNode;
    try {
      document = parse(query, this.parseOptions);
    } catch (error) {
      return [new AppError(ErrorCode.GRAPHQL_PARSE_FAILED, (error as Error).message)];
    }
    const invalid = validate(this.schema, document, [...specifiedRules, ...this.validationRules], VALIDATION_OPTIONS);
    if (invalid.length > 0) {
      return invalid.map((e) => new GraphQLError(e.message, { nodes: e.nodes, extensions: { ...e.extensions, code: ErrorCode.GRAPHQL_VALIDATION_FAILED } }));
    }
    return this.withVariables(document, payload);
  }

  /** The operation to run and its variables, checked to coerce. */
  private withVariables(document: DocumentNode, payload: OperationPayload): PreparedOperation | readonly GraphQLError[] {
    const operation = getOperationAST(document, payload.operationName);
    if (!operation) return [new AppError(ErrorCode.BAD_USER_INPUT, 'unable to identify the operation')];
    // Coerced here, so a bad variable is the client's mistake (BAD_USER_INPUT), as over HTTP.
    const coerced = getVariableValues(this.schema, operation.variableDefinitions ?? [], payload.variables ?? {}, { maxErrors: VALIDATION_OPTIONS.maxErrors });
    if (coerced.errors) {
      return coerced.errors.map((e) => new GraphQLError(e.message, { nodes: e.nodes, extensions: { code: ErrorCode.BAD_USER_INPUT } }));
    }
    return { document, operation, variableValues: payload.variables ?? undefined };
  }

  /**
   * Step 4, once per executed operation (after validation, so its cost is already known): the
   * cost goes into the histogram, and the limits its document exceeds in measure mode are
   * counted and logged once. Returns the estimated cost.
   */
  account(document: DocumentNode, operation: OperationDefinitionNode): number {
    const cost = this.costs.of(this.schema, document, operation);
    this.services.metrics.recordCost(this.costLabel(document), cost);
    if (this.measured.active) this.measured.reportDocument(document, operation.name?.value);
    return cost;
  }

  /** Named only for trusted documents, whose names the manifest bounds; a client's own name would not be. */
  private costLabel(document: DocumentNode): string {
    const trusted = this.services.trustedDocuments;
    if (!trusted) return UNTRUSTED_OPERATION;
    let label = this.costLabels.get(document);
    if (label === undefined) {
      const name = document.loc ? trusted.nameOf(document.loc.source.body) : undefined;
      label = name === undefined ? UNTRUSTED_OPERATION : this.services.metrics.operationLabel(name);
      this.costLabels.set(document, label);
    }
    return label;
  }

  /** Step 5: the one context factory (a flat literal: this runs on every request). */
  context(request: RequestInfo, viewer: Viewer | null, transport: GraphQLContext['transport']): GraphQLContext {
    return {
      requestId: request.requestId,
      ip: request.ip,
      userAgent: request.userAgent,
      viewer,
      transport,
      services: this.services,
      security: this.services.security,
      loaders: new Loaders(this.services.db),
    };
  }
}
