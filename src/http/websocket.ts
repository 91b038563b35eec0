import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import { GraphQLError, Kind, getOperationAST, type ExecutionArgs, type ExecutionResult, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Config } from '../config/config.js';
import { AppError, ErrorCode } from '../errors.js';
import type { Admission } from '../graphql/admission.js';
import { MAX_VALIDATION_ERRORS } from '../graphql/apollo.js';
import type { GraphQLContext } from '../graphql/context.js';
import type { RequestInfo, Viewer } from '../kernel/requestIdentity.js';
import { endableStream } from '../graphql/endableStream.js';
import type { ErrorMasker } from '../graphql/errorMasking.js';
import type { Metrics } from '../observability/metrics.js';
import { requiredRoleOf } from '../security/policy.js';
import { roleAtLeast, type Role } from '../kernel/roles.js';
import { originAllowed } from './headers.js';

/** Subscriptions one socket may hold at once. */
const MAX_SUBSCRIPTIONS_PER_CONNECTION = 50;
/** How often every signed-in socket's rights are checked again (revocation, role, expiry). */
const RIGHTS_CHECK_INTERVAL_MS = 1000;
/** graphql-ws's close code for "Forbidden": the socket's credentials no longer hold. */
const CLOSE_FORBIDDEN = 4403;

interface LiveSubscription {
  /** The least role the subscription's root fields require. */
  requires: Role | undefined;
  contextValue: GraphQLContext;
  end(final: ExecutionResult): Promise<void>;
}

interface ConnectionState {
  request: RequestInfo;
  /** The connection_init credentials, checked again at every subscribe and every interval. */
  authorization: string | undefined;
  viewer: Viewer | null;
  socket: WebSocket;
  subscriptions: Map<string, LiveSubscription>;
}

/** Spans for subscriptions (src/http/tracing.ts), given only when tracing is on. */
export interface WebSocketTracing {
  /** A subscription is admitted and about to start. */
  subscribing(upgrade: IncomingMessage, operation: OperationDefinitionNode, contextValue: GraphQLContext): void;
  /** An event is about to be sent to the client. */
  delivered(contextValue: GraphQLContext, result: ExecutionResult): void;
  /** The subscription ended (or failed to start); idempotent. */
  ended(contextValue: GraphQLContext, errors?: readonly GraphQLError[]): void;
}

export interface WebSocketOptions {
  server: Server;
  schema: GraphQLSchema;
  config: Config;
  admission: Admission;
  metrics: Metrics;
  maskError: ErrorMasker;
  tracing?: WebSocketTracing;
}

/**
 * graphql-ws (graphql-transport-ws) on the HTTP server's port, path /graphql, admitted by the same
 * pipeline as HTTP (src/graphql/admission.ts): the client gate, authentication (a bad token closes
 * with 4403), the per-key request budget for every subscribe, trusted documents, parse and
 * validation limits, variables, one context factory and one error masker. Per IP, the number of
 * sockets and of anonymous sockets is capped. A running subscription follows its subscriber's
 * current rights: revoked, expired or disabled ends it with UNAUTHENTICATED and closes the socket
 * with 4403; a role below what it requires ends it with FORBIDDEN. Only subscriptions travel over
 * the socket; queries and mutations go over HTTP.
 */
export function attachWebSocket(options: WebSocketOptions) {
  const { config, admission, metrics, tracing } = options;
  const states = new Map<object, ConnectionState>();
  const socketsPerIp = new Map<string, number>();
  const anonymousPerIp = new Map<string, number>();
  const count = (map: Map<string, number>, ip: string, delta: number) => {
    const next = (map.get(ip) ?? 0) + delta;
    if (next > 0) map.set(ip, next);
    else map.delete(ip);
  };

  const wss = new WebSocketServer({
    server: options.server,
    path: '/graphql',
    maxPayload: config.maxBodyBytes,
    verifyClient: ({ origin, req }: { origin?: string; req: IncomingMessage }, accept: (ok: boolean, code?: number, message?: string) => void) => {
      const ip = admission.gate.clientIp(req);
      const refusal = admission.gate.refusalOf(ip, req.headers.host);
      if (refusal) return accept(false, refusal.status, refusal.message);
      // Browsers send Origin: only allowed origins may open a socket (non-browser clients send none).
      if (origin && !originAllowed(origin, config.corsOrigins)) return accept(false, 403, 'origin not allowed');
      if ((socketsPerIp.get(ip) ?? 0) >= config.wsMaxConnectionsPerIp) return accept(false, 429, 'too many connections from this address');
      accept(true);
    },
  });
  wss.on('connection', (socket, req) => {
    const ip = admission.gate.clientIp(req);
    count(socketsPerIp, ip, 1);
    socket.once('close', () => count(socketsPerIp, ip, -1));
  });

  /** EXPOSE_COST: each subscription's estimated cost, by its execution arguments (what onNext receives). */
  const shownCosts = new WeakMap<ExecutionArgs, number>();

  const mask = (errors: readonly GraphQLError[], requestId: string) =>
    errors.slice(0, MAX_VALIDATION_ERRORS).map((error) => {
      const masked = options.maskError(error.toJSON(), error);
      return { ...masked, extensions: { ...masked.extensions, requestId } };
    });
  const refuse = (requestId: string, code: ErrorCode, message: string, extensions: Record<string, unknown> = {}) => [
    new GraphQLError(message, { extensions: { ...extensions, code, requestId } }),
  ];
  const requiredRole = (operation: OperationDefinitionNode): Role | undefined => {
    const fields = options.schema.getSubscriptionType()?.getFields() ?? {};
    let least: Role | undefined;
    for (const selection of operation.selectionSet.selections) {
      if (selection.kind !== Kind.FIELD || !fields[selection.name.value]) continue;
      const requires = requiredRoleOf(options.schema, fields[selection.name.value]!);
      if (requires && (!least || roleAtLeast(requires, least))) least = requires;
    }
    return least;
  };

  /** Ends every subscription whose rights no longer hold; closes the socket when the credentials fail. */
  async function enforceRights(state: ConnectionState): Promise<void> {
    let viewer: Viewer | null;
    try {
      viewer = await admission.authenticate(state.authorization, { ...state.request, requestId: randomUUID() });
    } catch (refusal) {
      if (!(refusal instanceof AppError)) return; // e.g. the database is unavailable: check again next time
      const final = { errors: [new AppError(ErrorCode.UNAUTHENTICATED, `subscription ended: ${refusal.message}`)] };
      await Promise.all([...state.subscriptions.values()].map((s) => s.end(final)));
      setImmediate(() => state.socket.close(CLOSE_FORBIDDEN, 'Forbidden')); // after graphql-ws sends each `complete`
      return;
    }
    state.viewer = viewer;
    for (const subscription of state.subscriptions.values()) {
      if (subscription.requires && (!viewer || !roleAtLeast(viewer.role, subscription.requires))) {
        void subscription.end({ errors: [new AppError(ErrorCode.FORBIDDEN, `subscription ended: requires role ${subscription.requires}`)] });
      }
    }
  }
  const rightsTimer = setInterval(() => {
    for (const state of states.values()) if (state.authorization !== undefined) void enforceRights(state);
  }, RIGHTS_CHECK_INTERVAL_MS);
  rightsTimer.unref();

  const disposable = useServer<Record<string, unknown> | undefined, Record<string, unknown>>(
    {
      schema: options.schema,
      onConnect: async (ctx) => {
        const req = ctx.extra.request;
        const request: RequestInfo = { requestId: randomUUID(), ip: admission.gate.clientIp(req), userAgent: req.headers['user-agent'] };
        const param = ctx.connectionParams?.['authorization'];
        const authorization = typeof param === 'string' ? param : undefined;
        let viewer: Viewer | null;
        try {
          viewer = await admission.authenticate(authorization, request);
        } catch (error) {
          if (error instanceof AppError) return false; // 4403 Forbidden
          throw error;
        }
        if (!viewer) {
          if ((anonymousPerIp.get(request.ip) ?? 0) >= config.wsMaxAnonymousConnectionsPerIp) return false;
          count(anonymousPerIp, request.ip, 1);
        }
        states.set(ctx.extra, { request, authorization, viewer, socket: ctx.extra.socket, subscriptions: new Map() });
        metrics.websocketConnections.inc();
        return true;
      },
      onClose: (ctx) => {
        const state = states.get(ctx.extra);
        if (!state) return;
        states.delete(ctx.extra);
        // graphql-ws may report these subscriptions complete after this; their spans end now.
        if (tracing) for (const subscription of state.subscriptions.values()) tracing.ended(subscription.contextValue);
        if (state.authorization === undefined) count(anonymousPerIp, state.request.ip, -1);
        metrics.websocketConnections.dec();
      },
      onSubscribe: async (ctx, _id, payload): Promise<ExecutionArgs | readonly GraphQLError[]> => {
        const state = states.get(ctx.extra)!;
        const requestId = randomUUID();
        const request = { ...state.request, requestId };
        if (Object.keys(ctx.subscriptions).length > MAX_SUBSCRIPTIONS_PER_CONNECTION) {
          return refuse(requestId, ErrorCode.RATE_LIMITED, `at most ${MAX_SUBSCRIPTIONS_PER_CONNECTION} subscriptions per connection`);
        }
        // A token revoked or expired since the socket opened cannot start new subscriptions (cached: cheap).
        let viewer: Viewer | null;
        try {
          viewer = await admission.authenticate(state.authorization, request);
        } catch (refusal) {
          if (refusal instanceof AppError) return [new GraphQLError(refusal.message, { extensions: { ...refusal.extensions, requestId } })];
          throw refusal;
        }
        const budget = await admission.budget.spend(request, viewer, 'ws');
        if (budget?.retryAfter !== undefined) {
          return refuse(requestId, ErrorCode.RATE_LIMITED, `too many requests, retry in ${budget.retryAfter} s`, { retryAfter: budget.retryAfter });
        }
        const prepared = admission.prepare(payload);
        if (!('document' in prepared)) return prepared.map((e) => new GraphQLError(e.message, { nodes: e.nodes, extensions: { ...e.extensions, requestId } }));
        if (prepared.operation.operation !== 'subscription') {
          return refuse(requestId, ErrorCode.BAD_USER_INPUT, 'only subscriptions are served over WebSocket; send queries and mutations over HTTP');
        }
        const cost = admission.account(prepared.document, prepared.operation);
        const contextValue = admission.context(request, viewer, 'ws');
        tracing?.subscribing(ctx.extra.request, prepared.operation, contextValue);
        const args: ExecutionArgs = {
          schema: options.schema,
          document: prepared.document,
          operationName: payload.operationName,
          variableValues: prepared.variableValues,
          contextValue,
        };
        if (admission.exposeCost) shownCosts.set(args, cost);
        return args;
      },
      onOperation: (ctx, id, _payload, args, result) => {
        const state = states.get(ctx.extra);
        const contextValue = args.contextValue as GraphQLContext;
        if (!state || !(Symbol.asyncIterator in Object(result))) {
          tracing?.ended(contextValue, (result as ExecutionResult).errors);
          return result;
        }
        const operation = getOperationAST(args.document, args.operationName)!;
        const { stream, end } = endableStream((result as AsyncIterable<ExecutionResult>)[Symbol.asyncIterator]());
        state.subscriptions.set(id, { requires: requiredRole(operation), contextValue, end });
        metrics.activeSubscriptions.inc();
        return stream;
      },
      onComplete: (ctx, id) => {
        const subscriptions = states.get(ctx.extra)?.subscriptions;
        const subscription = subscriptions?.get(id);
        if (!subscription) return;
        subscriptions!.delete(id);
        metrics.activeSubscriptions.dec();
        tracing?.ended(subscription.contextValue);
      },
      onNext: (_ctx, _id, _payload, args, result) => {
        tracing?.delivered(args.contextValue as GraphQLContext, result);
        const estimated = shownCosts.get(args);
        const shown = estimated === undefined ? result : { ...result, extensions: { ...result.extensions, cost: { estimated, limit: config.maxCost } } };
        if (!shown.errors?.length) return shown;
        const { requestId } = args.contextValue as GraphQLContext;
        return { ...shown, errors: mask(shown.errors, requestId) };
      },
      onError: (_ctx, _id, _payload, errors) => {
        const requestId = String(errors[0]?.extensions?.['requestId'] ?? randomUUID());
        return mask(errors, requestId);
      },
    },
    wss,
  );

  return {
    wss,
    /** Closes every socket with 1001 (going away) so clients reconnect to another instance. */
    close: () => {
      clearInterval(rightsTimer);
      return disposable.dispose();
    },
  };
}
