import type { ApolloServerPlugin, GraphQLRequestContext } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import { Kind, getNamedType, type FieldNode, type GraphQLError, type OperationDefinitionNode } from 'graphql';
import type { AuditOutcome } from '../audit/auditLog.js';
import { ErrorCode, contractCodeOf } from '../errors.js';
import { clientErrorCodeOf } from './clientErrors.js';
import type { GraphQLContext } from './context.js';

/*
 * Apollo plugins, each one concern. Their order in src/graphql/apollo.ts is commented there.
 */

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function errorCode(error: GraphQLError): string {
  return contractCodeOf(error.extensions?.['code']) ?? clientErrorCodeOf(error) ?? ErrorCode.INTERNAL_SERVER_ERROR;
}

/** Operation counts and durations by name, type and outcome; errors by code; recent server-side errors. */
export function operationMetricsPlugin(): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart({ contextValue }) {
      const started = performance.now();
      return {
        async didEncounterErrors({ errors, operationName, contextValue: ctx }) {
          for (const error of errors) {
            const code = errorCode(error);
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
        },
        async willSendResponse({ response, operation, operationName }) {
          const body = response.body;
          const hasErrors = body.kind === 'single' ? Boolean(body.singleResult.errors?.length) : false;
          const { metrics } = contextValue.services;
          const seconds = (performance.now() - started) / 1000;
          metrics.recordOperation(metrics.operationLabel(operationName), operation?.operation ?? 'unknown', hasErrors ? 'error' : 'success', seconds);
        },
      };
    },
  };
}

const DENIED_CODES = new Set<string>([
  ErrorCode.UNAUTHENTICATED,
  ErrorCode.FORBIDDEN,
  ErrorCode.RATE_LIMITED,
  ErrorCode.FEATURE_DISABLED,
]);

/**
 * Every executed mutation field is audited: actor, action (the field), target, outcome, IP and
 * request id. Successes get a row each; denials and failures are aggregated under a flood.
 */
export function auditMutationsPlugin(): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse(requestContext) {
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
              targetType: targetTypeOf(requestContext, field.name.value),
              targetId: argumentId(field, requestContext.request.variables) ?? idOf(value?.id) ?? idOf(value?.user?.id),
              ip: ctx.ip,
              requestId: ctx.requestId,
              detail: code ? { code } : ctx.auditDetail?.[key],
            };
            if (outcome === 'SUCCESS') ctx.services.audit.record(entry);
            else ctx.services.audit.recordAggregated(entry);
          }
        },
      };
    },
  };
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

/** The named type a mutation returns (AuthPayload counts as User), or the field's own name for scalars. */
function targetTypeOf(requestContext: GraphQLRequestContext<GraphQLContext>, fieldName: string): string | null {
  const field = requestContext.schema.getMutationType()?.getFields()[fieldName];
  if (!field) return null;
  const named = getNamedType(field.type).name;
  if (named === 'AuthPayload') return 'User';
  if (named === 'Boolean') return ({ deleteReport: 'Report', logout: 'Session' } as Record<string, string>)[fieldName] ?? 'User';
  return named;
}
