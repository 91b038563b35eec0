import type { GraphQLRequestListener, GraphQLResponse } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import { Kind, type DocumentNode, type FieldNode, type OperationDefinitionNode } from 'graphql';
import type { AuditOutcome } from '../observability/auditLog.js';
import { ErrorCode, OUTAGE_RETRY_AFTER_SECONDS, OwnershipDenied } from '../errors.js';
import type { GraphQLContext } from './context.js';
import { errorCodeOf } from './errorMasking.js';

/*
 * What happens around each GraphQL request, one concern per function. requestPlugin.ts calls them
 * from a single Apollo plugin: every plugin Apollo calls per request costs throughput.
 */

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}


/** What the operation metrics plugin needs of the admission pipeline (src/graphql/admission.ts). */
export interface OperationAccounting {
  /** Whether answers carry the estimated cost (EXPOSE_COST). */
  readonly exposeCost: boolean;
  readonly maxCost: number;
  /** Per executed operation: observes its cost, reports the limits it exceeds in measure mode; returns the cost. */
  account(document: DocumentNode, operation: OperationDefinitionNode): number;
}

type Listener = Required<GraphQLRequestListener<GraphQLContext>>;
type ErrorsContext = Parameters<Listener['didEncounterErrors']>[0];
type ResponseContext = Parameters<Listener['willSendResponse']>[0];

/** Errors by code, and server-side ones kept for `diagnostics.recentErrors`. */
export function countErrors({ errors, operationName, contextValue: ctx }: ErrorsContext): void {
  for (const error of errors) {
    const code = errorCodeOf(error);
    ctx.services.metrics.graphqlErrors.inc({ code });
    if (code === ErrorCode.INTERNAL_SERVER_ERROR) {
      ctx.services.recentErrors.add({
        at: new Date(),
        code,
        message: errorMessage(unwrapResolverError(error)),
        operationName: operationName ?? null,
        requestId: ctx.requestId,
      });
    }
  }
}

/** Operation counts and durations by name, type and outcome; each executed operation's cost and measured limits. */
export function recordOperation({ response, operation, operationName, document, contextValue }: ResponseContext, accounting: OperationAccounting, started: number): void {
  if (operation && document) {
    const cost = accounting.account(document, operation);
    if (accounting.exposeCost) showCost(response, cost, accounting.maxCost);
  }
  const body = response.body;
  const hasErrors = body.kind === 'single' ? Boolean(body.singleResult.errors?.length) : false;
  const { metrics } = contextValue.services;
  const seconds = (performance.now() - started) / 1000;
  metrics.recordOperation(metrics.operationLabel(operationName), operation?.operation ?? 'unknown', hasErrors ? 'error' : 'success', seconds);
}

/** EXPOSE_COST: the estimate in `extensions.cost` and the X-Query-Cost header. */
function showCost(response: GraphQLResponse, estimated: number, limit: number): void {
  response.http.headers.set('x-query-cost', String(estimated));
  if (response.body.kind !== 'single') return;
  const result = response.body.singleResult;
  result.extensions = { ...result.extensions, cost: { estimated, limit } };
}

/**
 * Ownership refusals made by services (someone else's report or export) are denied security
 * events, like the policy rules' refusals: audited, counted toward the automatic IP block.
 */
export function reportOwnershipDenials({ errors, contextValue: ctx }: ErrorsContext): void {
  for (const error of errors) {
    const original = unwrapResolverError(error);
    if (original instanceof OwnershipDenied) ctx.security.denied(ctx, original.resource, String(original.extensions['code']));
  }
}

/**
 * A response that could serve nothing because a dependency is down answers 503 with Retry-After,
 * so load balancers, proxies and clients back off as they do for any outage.
 */
export function answerOutagesWith503({ response }: ResponseContext): void {
  if (response.body.kind !== 'single') return;
  const { data, errors } = response.body.singleResult;
  if (!errors?.some((e) => e.extensions?.['code'] === ErrorCode.SERVICE_UNAVAILABLE)) return;
  if (data && Object.values(data).some((value) => value !== null)) return;
  response.http.status = 503;
  response.http.headers.set('retry-after', String(OUTAGE_RETRY_AFTER_SECONDS));
}

const DENIED_CODES = new Set<string>([
  ErrorCode.UNAUTHENTICATED,
  ErrorCode.FORBIDDEN,
  ErrorCode.RATE_LIMITED,
  ErrorCode.FEATURE_DISABLED,
]);

/**
 * Every executed mutation field is audited: actor, action (the field), target (its `@audit`
 * declaration, src/graphql/auditTargets.ts), outcome, IP and request id. Successes get a row each; denials and failures are aggregated under a flood.
 */
export function auditMutations(requestContext: ResponseContext, targets: ReadonlyMap<string, string>): void {
  const { operation, contextValue: ctx, response } = requestContext;
  if (operation?.operation !== 'mutation' || response.body.kind !== 'single') return;
  const result = response.body.singleResult;
  const data = (result.data ?? {}) as Record<string, unknown>;
  for (const field of rootFields(operation)) {
    const key = field.alias?.value ?? field.name.value;
    const error = result.errors?.find((e) => e.path?.[0] === key);
    const code = error ? String(error.extensions?.['code'] ?? ErrorCode.INTERNAL_SERVER_ERROR) : undefined;
    const outcome = outcomeOf(field.name.value, code);
    const value = data[key] as { id?: unknown; user?: { id?: unknown } } | null | undefined;
    const entry = {
      action: field.name.value,
      outcome,
      actorId: ctx.viewer?.id ?? ctx.signedInAs ?? null,
      targetType: targets.get(field.name.value) ?? null,
      targetId: argumentId(field, requestContext.request.variables) ?? idOf(value?.id) ?? idOf(value?.user?.id),
      ip: ctx.ip,
      requestId: ctx.requestId,
      code: code ?? null,
      detail: code ? { code } : ctx.auditDetail?.[key],
    };
    if (outcome === 'SUCCESS') ctx.services.audit.record(entry);
    else ctx.services.audit.recordAggregated(entry);
  }
}

/** Mutations whose UNAUTHENTICATED means bad credentials (a failure), not a missing sign-in (a denial). */
const CREDENTIAL_MUTATIONS = new Set(['login', 'refreshToken']);

function outcomeOf(fieldName: string, code: string | undefined): AuditOutcome {
  if (!code) return 'SUCCESS';
  if (code === ErrorCode.UNAUTHENTICATED && CREDENTIAL_MUTATIONS.has(fieldName)) return 'FAILURE';
  return DENIED_CODES.has(code) ? 'DENIED' : 'FAILURE';
}

function rootFields(operation: OperationDefinitionNode): FieldNode[] {
  return operation.selectionSet.selections.filter((s): s is FieldNode => s.kind === Kind.FIELD && s.name.value !== '__typename');
}

function idOf(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function argumentId(field: FieldNode, variables: Record<string, unknown> | undefined): string | null {
  const arg = field.arguments?.find((a) => a.name.value === 'id');
  if (!arg) return null;
  if (arg.value.kind === Kind.STRING) return arg.value.value;
  if (arg.value.kind === Kind.VARIABLE) return idOf(variables?.[arg.value.name.value]);
  return null;
}
