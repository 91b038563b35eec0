import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import proxyAddr from '@fastify/proxy-addr';
import {
  GraphQLError,
  getOperationAST,
  getVariableValues,
  parse,
  specifiedRules,
  validate,
  type ExecutionArgs,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type ValidationRule,
} from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { Config } from '../config/config.js';
import { AppError, ErrorCode } from '../errors.js';
import { MAX_VALIDATION_ERRORS, VALIDATION_OPTIONS } from '../graphql/apollo.js';
import type { GraphQLContext, RequestInfo, Viewer } from '../graphql/context.js';
import { Loaders } from '../graphql/loaders.js';
import { authenticate } from '../identity/authenticate.js';
import { ipMatcher } from '../security/ipList.js';
import type { Services } from '../services.js';
import { originAllowed } from './headers.js';

interface ConnectionState {
  request: RequestInfo;
  /** The connection_init credentials, checked again at every subscribe (revocation, expiry). */
  authorization: string | undefined;
}

/** Subscriptions one socket may hold at once. */
const MAX_SUBSCRIPTIONS_PER_CONNECTION = 50;

type MaskError = (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;

export interface WebSocketOptions {
  server: Server;
  schema: GraphQLSchema;
  validationRules: ValidationRule[];
  config: Config;
  services: Services;
  maskError: MaskError;
}

/**
 * graphql-ws (graphql-transport-ws) on the HTTP server's port, path /graphql, with the same
 * security as HTTP: the same authentication (a bad token closes with 4403), the same parse and
 * validation limits, the same error masking, and shield's rules checked when a client subscribes.
 * Only subscriptions travel over the socket; queries and mutations go over HTTP, where they are
 * rate limited and audited.
 */
export function attachWebSocket(options: WebSocketOptions) {
  const { config, services } = options;
  const trusted = config.trustedProxies.length > 0 ? proxyAddr.compile(config.trustedProxies) : () => false;
  const clientIp = (req: IncomingMessage) => proxyAddr(req, trusted);
  const denied = ipMatcher(config.ipDenyList);
  const allowedIps = config.ipAllowList.length > 0 ? ipMatcher(config.ipAllowList) : undefined;
  const states = new WeakMap<object, ConnectionState>();

  const wss = new WebSocketServer({
    server: options.server,
    path: '/graphql',
    maxPayload: config.maxBodyBytes,
    // Browsers send Origin: only allowed origins may open a socket (non-browser clients send none).
    verifyClient: ({ origin, req }: { origin?: string; req: IncomingMessage }) => {
      const ip = clientIp(req);
      if (denied(ip) || (allowedIps && !allowedIps(ip)) || services.security.isBlocked(ip)) return false;
      return !origin || originAllowed(origin, config.corsOrigins);
    },
  });

  const mask = (errors: readonly GraphQLError[], requestId: string): GraphQLFormattedError[] =>
    errors.slice(0, MAX_VALIDATION_ERRORS).map((error) => {
      const masked = options.maskError(error.toJSON(), error);
      return { ...masked, extensions: { ...masked.extensions, requestId } };
    });

  const disposable = useServer<Record<string, unknown> | undefined, { state?: ConnectionState }>(
    {
      schema: options.schema,
      onConnect: async (ctx) => {
        const req = ctx.extra.request;
        const request: RequestInfo = { requestId: randomUUID(), ip: clientIp(req), userAgent: req.headers['user-agent'] };
        const param = ctx.connectionParams?.['authorization'];
        const authorization = typeof param === 'string' ? param : undefined;
        try {
          await authenticate(services, authorization, request);
          states.set(ctx.extra, { request, authorization });
          services.metrics.websocketConnections.inc();
          return true;
        } catch (error) {
          if (error instanceof AppError) return false; // 4403 Forbidden
          throw error;
        }
      },
      onClose: (ctx) => {
        if (ctx.acknowledged) services.metrics.websocketConnections.dec();
      },
      onSubscribe: async (ctx, _id, payload): Promise<ExecutionArgs | readonly GraphQLError[]> => {
        const state = states.get(ctx.extra)!;
        const requestId = randomUUID();
        const error = (message: string, code: ErrorCode) => [new GraphQLError(message, { extensions: { code, requestId } })];
        if (Object.keys(ctx.subscriptions).length > MAX_SUBSCRIPTIONS_PER_CONNECTION) {
          return error(`at most ${MAX_SUBSCRIPTIONS_PER_CONNECTION} subscriptions per connection`, ErrorCode.RATE_LIMITED);
        }
        // A token revoked or expired since the socket opened cannot start new subscriptions (cached: cheap).
        let viewer: Viewer | null;
        try {
          viewer = await authenticate(services, state.authorization, { ...state.request, requestId });
        } catch (refusal) {
          if (refusal instanceof AppError) return [refusal];
          throw refusal;
        }
        let query = payload.query;
        if (services.trustedDocuments) {
          const trusted = services.trustedDocuments.resolve(payload);
          if (!trusted.ok) return error(trusted.message, trusted.code);
          query = trusted.query;
        }
        let document;
        try {
          document = parse(query, { maxTokens: config.maxTokens });
        } catch (parseError) {
          return error((parseError as Error).message, ErrorCode.GRAPHQL_PARSE_FAILED);
        }
        const validationErrors = validate(options.schema, document, [...specifiedRules, ...options.validationRules], VALIDATION_OPTIONS);
        if (validationErrors.length > 0) {
          return validationErrors.map(
            (e) => new GraphQLError(e.message, { nodes: e.nodes, extensions: { ...e.extensions, code: ErrorCode.GRAPHQL_VALIDATION_FAILED, requestId } }),
          );
        }
        const operation = getOperationAST(document, payload.operationName);
        if (!operation) return error('unable to identify the operation', ErrorCode.BAD_USER_INPUT);
        if (operation.operation !== 'subscription') {
          return error('only subscriptions are served over WebSocket; send queries and mutations over HTTP', ErrorCode.BAD_USER_INPUT);
        }
        // Coerced here, as over HTTP, so a bad variable is the client's BAD_USER_INPUT, not a server error.
        const coerced = getVariableValues(options.schema, operation.variableDefinitions ?? [], payload.variables ?? {}, { maxErrors: MAX_VALIDATION_ERRORS });
        if (coerced.errors) {
          return coerced.errors.map((e) => new GraphQLError(e.message, { nodes: e.nodes, extensions: { code: ErrorCode.BAD_USER_INPUT, requestId } }));
        }
        const contextValue: GraphQLContext = {
          ...state.request,
          requestId,
          viewer,
          transport: 'ws',
          services,
          security: services.security,
          loaders: new Loaders(services.db),
        };
        return {
          schema: options.schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue,
        };
      },
      onOperation: () => {
        services.metrics.activeSubscriptions.inc();
      },
      onComplete: () => {
        services.metrics.activeSubscriptions.dec();
      },
      onNext: (_ctx, _id, _payload, args, result) => {
        if (!result.errors?.length) return result;
        const { requestId } = args.contextValue as GraphQLContext;
        return { ...result, errors: mask(result.errors, requestId) };
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
    close: () => disposable.dispose(),
  };
}
