// Loaded only when tracing is configured (src/app.ts imports it dynamically): GraphQL spans.
import type { ApolloServerPlugin } from '@apollo/server';
import { SpanStatusCode, context, trace, type Span, type Tracer } from '@opentelemetry/api';
import { MapperKind, mapSchema } from '@graphql-tools/utils';
import {
  defaultFieldResolver,
  getNamedType,
  isCompositeType,
  type GraphQLError,
  type GraphQLFieldResolver,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import type { Resolvers } from '../generated/graphql.js';
import type { GraphQLContext } from './context.js';
import { errorCodeOf } from './errorMasking.js';

/*
 * What is recorded: the operation's type and name, the phases' timings (parse, validate, execute
 * as child spans), resolver spans for the fields that reach the database or a service, and error
 * codes. What never is: variables, arguments, the document's text, results, error messages, and
 * anything from headers (tokens travel there).
 */

/** Each GraphQL context's span under which its resolvers' spans go (execution, or a WebSocket subscription). */
const resolverParents = new WeakMap<object, Span>();

/** Resolver spans of this context go under `span`. */
export function setResolverParent(contextValue: object, span: Span): void {
  resolverParents.set(contextValue, span);
}

/** The operation's attributes, as OpenTelemetry's GraphQL conventions name them. */
export function operationAttributes(operation: OperationDefinitionNode | undefined | null, operationName: string | null | undefined) {
  const type = operation?.operation ?? 'unknown';
  const name = operationName ?? operation?.name?.value;
  return { type, name, spanName: name ? `${type} ${name}` : type };
}

/** Marks a span failed with the GraphQL error codes only (a message may quote what the client sent). */
export function recordErrorCodes(span: Span, errors: readonly GraphQLError[]): void {
  const codes = [...new Set(errors.map((error) => errorCodeOf(error)))];
  span.setAttribute('graphql.error.codes', codes);
  span.setStatus({ code: SpanStatusCode.ERROR, message: codes.join(',') });
}

/**
 * The operation span, child of the HTTP request's span: started when Apollo receives the request,
 * named `query Me` once the operation is known; parse, validate and execute are its children. A
 * document Apollo has already parsed and validated (its document cache) skips those two phases:
 * `graphql.document.cached` says so.
 */
export function operationTracingPlugin(tracer: Tracer): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart({ contextValue }) {
      const operationSpan = tracer.startSpan('graphql.operation', { attributes: { 'bastion.request_id': contextValue.requestId } });
      const parent = trace.setSpan(context.active(), operationSpan);
      let parsed = false;
      const phase = (name: string) => {
        const span = tracer.startSpan(name, undefined, parent);
        return async (error?: unknown) => {
          if (error) span.setStatus({ code: SpanStatusCode.ERROR });
          span.end();
        };
      };
      resolverParents.set(contextValue, operationSpan);
      return {
        async parsingDidStart() {
          parsed = true;
          return phase('graphql.parse');
        },
        async validationDidStart() {
          const end = phase('graphql.validate');
          return async (errors?: readonly Error[]) => end(errors?.length ? errors[0] : undefined);
        },
        async didResolveOperation({ operation, operationName }) {
          const { type, name, spanName } = operationAttributes(operation, operationName);
          operationSpan.updateName(spanName);
          operationSpan.setAttribute('graphql.operation.type', type);
          if (name) operationSpan.setAttribute('graphql.operation.name', name);
          operationSpan.setAttribute('graphql.document.cached', !parsed);
        },
        async executionDidStart() {
          const execution = tracer.startSpan('graphql.execute', undefined, parent);
          resolverParents.set(contextValue, execution);
          return {
            async executionDidEnd(error) {
              if (error) execution.setStatus({ code: SpanStatusCode.ERROR });
              execution.end();
            },
          };
        },
        async didEncounterErrors({ errors }) {
          recordErrorCodes(operationSpan, errors);
        },
        async willSendResponse() {
          operationSpan.end();
        },
      };
    },
  };
}

/**
 * Resolver spans only where a resolver can reach the database or another service, by a rule read
 * off the schema: every root field (Query, Mutation: each calls a domain service; Subscription:
 * its `subscribe`, once per subscription, not per event), and every field of another type that
 * has its own resolver and returns an object (it loads that object, e.g. `Report.author` through
 * the users loader). Scalar fields, even computed ones, and default resolvers get none. The
 * statements a resolver runs are children of its span.
 */
export function traceResolvers(schema: GraphQLSchema, resolverMaps: readonly Resolvers[], tracer: Tracer): GraphQLSchema {
  const roots = new Set([schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].flatMap((type) => (type ? [type.name] : [])));
  const subscription = schema.getSubscriptionType()?.name;
  const ownResolvers = new Set<string>();
  for (const map of resolverMaps) {
    for (const [typeName, fields] of Object.entries(map)) {
      if (roots.has(typeName) || typeof fields !== 'object' || fields === null) continue;
      for (const fieldName of Object.keys(fields)) ownResolvers.add(`${typeName}.${fieldName}`);
    }
  }
  return mapSchema(schema, {
    [MapperKind.OBJECT_FIELD]: (field, fieldName, typeName) => {
      const coordinate = `${typeName}.${fieldName}`;
      if (typeName === subscription) return { ...field, subscribe: traced(tracer, coordinate, field.subscribe ?? defaultFieldResolver) };
      if (roots.has(typeName) || (ownResolvers.has(coordinate) && isCompositeType(getNamedType(field.type)))) {
        return { ...field, resolve: traced(tracer, coordinate, field.resolve ?? defaultFieldResolver) };
      }
      return field;
    },
  });
}

function traced(tracer: Tracer, coordinate: string, resolve: GraphQLFieldResolver<unknown, unknown>): GraphQLFieldResolver<unknown, unknown> {
  const [parentType, fieldName] = coordinate.split('.') as [string, string];
  return (source, args, contextValue, info) => {
    const parentSpan = resolverParents.get(contextValue as object);
    const parent = parentSpan ? trace.setSpan(context.active(), parentSpan) : context.active();
    const span = tracer.startSpan(
      coordinate,
      { attributes: { 'graphql.field.name': fieldName, 'graphql.field.parent_type': parentType, 'graphql.field.path': pathOf(info.path) } },
      parent,
    );
    const fail = (error: unknown) => {
      span.setStatus({ code: SpanStatusCode.ERROR, message: String((error as GraphQLError)?.extensions?.['code'] ?? 'error') });
      span.end();
      throw error;
    };
    try {
      const result = context.with(trace.setSpan(parent, span), () => resolve(source, args, contextValue, info));
      if (result instanceof Promise) {
        return result.then((value) => {
          span.end();
          return value;
        }, fail);
      }
      span.end();
      return result;
    } catch (error) {
      return fail(error);
    }
  };
}

/** `reports.edges.0.node.author`: response keys and list indexes, never argument values. */
function pathOf(path: { prev: unknown; key: string | number } | undefined): string {
  const keys: Array<string | number> = [];
  for (let at = path; at; at = at.prev as typeof path) keys.push(at.key);
  return keys.reverse().join('.');
}
