// Loaded only when tracing is configured (src/app.ts imports it dynamically): HTTP and WebSocket spans.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, propagation, trace, type Context, type Span, type Tracer } from '@opentelemetry/api';
import type { FastifyInstance } from 'fastify';
import type { ExecutionResult } from 'graphql';
import type { GraphQLContext } from '../graphql/context.js';
import { operationAttributes, recordErrorCodes, setResolverParent } from '../graphql/tracing.js';
import type { TrustProxy } from '../security/clientGate.js';
import type { WebSocketTracing } from './websocket.js';

/**
 * The trace a request joins: an incoming W3C `traceparent` is believed only when the connection
 * comes from a trusted proxy (TRUSTED_PROXIES), like X-Forwarded-For; anyone else starts a new trace,
 * so a client cannot attach its requests to someone else's trace or pick our trace ids.
 */
function parentOf(request: IncomingMessage, trustProxy: TrustProxy): Context {
  const peer = request.socket.remoteAddress;
  return peer !== undefined && trustProxy(peer, 0) ? propagation.extract(ROOT_CONTEXT, request.headers) : ROOT_CONTEXT;
}

/**
 * A SERVER span for every HTTP request, around everything Fastify does with it. The span is made
 * active in front of Fastify's own request listener, and the request and response emitters are
 * bound to it, so hooks, the body parser's callbacks, the handler and `onResponse` all run in it
 * (and log lines carry its trace id). Its name is the method and the route template
 * (`POST /graphql`): never the URL, whose path or query may carry a token or variables.
 */
export function traceHttpRequests(fastify: FastifyInstance, tracer: Tracer, trustProxy: TrustProxy): void {
  const server: Server = fastify.server;
  const spans = new WeakMap<IncomingMessage, Span>();
  const fastifyListeners = server.listeners('request') as Array<(req: IncomingMessage, res: ServerResponse) => void>;
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const parent = parentOf(req, trustProxy);
    const method = req.method ?? 'HTTP';
    const span = tracer.startSpan(method, { kind: SpanKind.SERVER, attributes: { 'http.request.method': method } }, parent);
    spans.set(req, span);
    const active = trace.setSpan(parent, span);
    context.bind(active, req);
    context.bind(active, res);
    res.once('close', () => {
      span.setAttribute('http.response.status_code', res.statusCode);
      if (!res.writableFinished) span.setAttribute('bastion.aborted', true);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
    context.with(active, () => {
      for (const listener of fastifyListeners) listener.call(server, req, res);
    });
  });
  // Once routed: the route template, the request id and the client address (X-Forwarded-For from trusted proxies only).
  fastify.addHook('onRequest', (request, _reply, done) => {
    const span = spans.get(request.raw);
    if (span) {
      const route = request.routeOptions.url;
      if (route) {
        span.updateName(`${request.method} ${route}`);
        span.setAttribute('http.route', route);
      }
      span.setAttribute('client.address', request.ip);
      span.setAttribute('bastion.request_id', request.id);
    }
    done();
  });
}

/**
 * WebSocket subscriptions: a span per subscribe (child of the upgrade's `traceparent` when it came
 * through a trusted proxy), lasting as long as the subscription; the `subscribe` resolver's span
 * goes under it; and a span per event delivered to the client, under it too.
 */
export function webSocketTracing(tracer: Tracer, trustProxy: TrustProxy): WebSocketTracing {
  const subscriptions = new WeakMap<object, { span: Span; name: string | undefined; type: string }>();
  return {
    subscribing(upgrade, operation, contextValue: GraphQLContext) {
      const { type, name, spanName } = operationAttributes(operation, undefined);
      const span = tracer.startSpan(
        spanName,
        {
          kind: SpanKind.SERVER,
          attributes: {
            'graphql.operation.type': type,
            ...(name ? { 'graphql.operation.name': name } : {}),
            'bastion.request_id': contextValue.requestId,
            'client.address': contextValue.ip,
          },
        },
        parentOf(upgrade, trustProxy),
      );
      subscriptions.set(contextValue, { span, name, type });
      setResolverParent(contextValue, span);
    },
    delivered(contextValue, result: ExecutionResult) {
      const subscription = subscriptions.get(contextValue);
      if (!subscription) return;
      const span = tracer.startSpan(
        subscription.name ? `deliver ${subscription.name}` : 'deliver',
        {
          kind: SpanKind.PRODUCER,
          attributes: { 'graphql.operation.type': subscription.type, ...(subscription.name ? { 'graphql.operation.name': subscription.name } : {}) },
        },
        trace.setSpan(ROOT_CONTEXT, subscription.span),
      );
      if (result.errors?.length) recordErrorCodes(span, result.errors);
      span.end();
    },
    ended(contextValue, errors) {
      const subscription = subscriptions.get(contextValue);
      if (!subscription) return;
      subscriptions.delete(contextValue);
      if (errors?.length) recordErrorCodes(subscription.span, errors);
      subscription.span.end();
    },
  };
}
