import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import fastifyCors from '@fastify/cors';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Config } from '../config/config.js';
import { DATABASE_UNAVAILABLE, isDatabaseUnavailable } from '../db/errors.js';
import { ErrorCode } from '../errors.js';
import type { Viewer } from '../graphql/context.js';
import type { Logger } from '../observability/logger.js';
import type { Services } from '../services.js';
import { ipMatcher } from '../security/ipList.js';
import { originAllowed, securityHeaders } from './headers.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the GraphQL route's authentication hook. */
    viewer: Viewer | null;
  }
}

/** A sane incoming X-Request-Id is kept (so a trace spans services); anything else is replaced. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

export function requestIdOf(req: IncomingMessage): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && SANE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/** A GraphQL-shaped error body, for refusals that happen before GraphQL runs. */
export function sendError(reply: FastifyReply, status: number, code: ErrorCode, message: string, extra: Record<string, unknown> = {}) {
  return reply
    .code(status)
    .type('application/json; charset=utf-8')
    .send({ errors: [{ message, extensions: { code, requestId: reply.request.id, ...extra } }] });
}

/** Routes exempt from the per-key HTTP limit: probes and scrapes. */
const UNLIMITED_ROUTES = new Set(['/health', '/ready', '/metrics']);

/**
 * The Fastify instance with the cross-cutting HTTP layer, in order: request id, trusted hosts,
 * IP allow/deny lists and automatic blocks, security headers, CORS, body limit, metrics, logging.
 */
export async function createFastify(config: Config, logger: Logger, services: Services): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // Our own onResponse hook logs requests (debug; errors at error level).
    logController: new LogController({ disableRequestLogging: true }),
    // No child logger per request (pino's child with redaction costs ~3 % of a small query):
    // request logs carry the request id explicitly.
    childLoggerFactory: (parent) => parent,
    genReqId: requestIdOf,
    requestIdHeader: false,
    bodyLimit: config.maxBodyBytes,
    trustProxy: config.trustedProxies.length > 0 ? config.trustedProxies : false,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });
  app.decorateRequest('viewer', null);

  const denied = ipMatcher(config.ipDenyList);
  const allowedIps = config.ipAllowList.length > 0 ? ipMatcher(config.ipAllowList) : undefined;
  const trustedHosts = new Set(config.trustedHosts);

  const headers = securityHeaders(config.production);
  // Callback style (this runs on every request): reply and stop, or call done().
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(headers).header('x-request-id', request.id);
    const refusal = refusalOf(request);
    if (refusal) {
      sendError(reply, refusal.status, refusal.code, refusal.message);
      return;
    }
    const route = request.routeOptions.url;
    // The GraphQL route applies the limit itself, after authentication, keyed by user id.
    if (route === '/graphql' || (route && UNLIMITED_ROUTES.has(route))) return done();
    services.httpLimiter
      .check(request, reply, null)
      .then((limited) => (limited ? undefined : done()), done);
  });

  /** Why the HTTP layer refuses a request before routing, if it does. */
  function refusalOf(request: FastifyRequest): { status: number; code: ErrorCode; message: string } | undefined {
    if (trustedHosts.size > 0) {
      const host = (request.headers.host ?? '').toLowerCase().replace(/:\d+$/, '');
      if (!trustedHosts.has(host)) return { status: 400, code: ErrorCode.BAD_USER_INPUT, message: 'unknown host' };
    }
    const ip = request.ip; // a getter that may walk X-Forwarded-For: read it once
    if (denied(ip) || (allowedIps && !allowedIps(ip))) return { status: 403, code: ErrorCode.FORBIDDEN, message: 'forbidden' };
    if (services.security.isBlocked(ip)) {
      return { status: 403, code: ErrorCode.FORBIDDEN, message: 'blocked after too many security events; try again later' };
    }
    return undefined;
  }

  await app.register(fastifyCors, {
    origin: (origin, callback) => callback(null, origin === undefined ? false : originAllowed(origin, config.corsOrigins)),
    methods: ['GET', 'POST', 'OPTIONS'],
    allowedHeaders: ['content-type', 'authorization', 'apollo-require-preflight', 'x-apollo-operation-name', 'x-request-id'],
    exposedHeaders: ['x-request-id', 'retry-after', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset'],
    maxAge: 600,
  });

  // Callback style: the hook runs on every response and needs no promise.
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url;
    services.metrics.recordHttp(request.method, route ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
    const level = reply.statusCode >= 500 ? 'error' : 'debug';
    if (logger.isLevelEnabled(level)) {
      request.log[level]({ reqId: request.id, method: request.method, url: route, status: reply.statusCode, ms: reply.elapsedTime }, 'request completed');
    }
    done();
  });

  app.setNotFoundHandler((request, reply) => {
    // @fastify/cors hands a preflight from a disallowed origin on as "not found": say what it is.
    if (isCorsPreflight(request)) {
      return sendError(reply, 403, ErrorCode.FORBIDDEN, `CORS: origin ${request.headers.origin} is not allowed to call this API (see CORS_ORIGINS)`);
    }
    return sendError(reply, 404, ErrorCode.NOT_FOUND, 'not found');
  });
  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    const status = error.statusCode ?? 500;
    if (status === 413) return sendError(reply, 413, ErrorCode.BAD_USER_INPUT, `request body larger than ${config.maxBodyBytes} bytes`);
    if (status === 415) return sendError(reply, 415, ErrorCode.BAD_USER_INPUT, 'unsupported content type; send application/json');
    if (error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
      return sendError(reply, 400, ErrorCode.BAD_USER_INPUT, 'request body is not valid JSON');
    }
    if (status >= 400 && status < 500) return sendError(reply, status, ErrorCode.BAD_USER_INPUT, 'bad request');
    if (isDatabaseUnavailable(error)) return sendError(reply, 503, ErrorCode.INTERNAL_SERVER_ERROR, DATABASE_UNAVAILABLE);
    request.log.error({ reqId: request.id, err: error }, 'unhandled error');
    return sendError(reply, 500, ErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error');
  });

  return app;
}

function isCorsPreflight(request: FastifyRequest): boolean {
  return request.method === 'OPTIONS' && typeof request.headers.origin === 'string' && request.headers['access-control-request-method'] !== undefined;
}

export type { FastifyRequest };
