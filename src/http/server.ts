import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import fastifyCors from '@fastify/cors';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Config } from '../config/config.js';
import { DATABASE_UNAVAILABLE, isDatabaseUnavailable } from '../db/errors.js';
import { ErrorCode, OUTAGE_RETRY_AFTER_SECONDS } from '../errors.js';
import type { Viewer } from '../kernel/requestIdentity.js';
import type { Logger } from '../observability/logger.js';
import type { Admission } from '../graphql/admission.js';
import type { BudgetState } from '../security/requestBudget.js';
import type { Metrics } from '../observability/metrics.js';
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

/**
 * The request budget's answer over HTTP: standard RateLimit-* headers, and 429 with Retry-After
 * when it is spent. Returns true when the request was refused.
 */
export function answerBudget(reply: FastifyReply, state: BudgetState | undefined): boolean {
  if (!state) return false;
  reply.header('ratelimit-limit', String(state.limit));
  reply.header('ratelimit-remaining', String(state.remaining));
  reply.header('ratelimit-reset', String(state.resetSeconds));
  if (state.retryAfter === undefined) return false;
  reply.header('retry-after', String(state.retryAfter));
  sendError(reply, 429, ErrorCode.RATE_LIMITED, `too many requests, retry in ${state.retryAfter} s`, { retryAfter: state.retryAfter });
  return true;
}

/** How often Node looks for requests past their header or body deadline (its default is 30 s). */
const TIMEOUT_CHECK_INTERVAL_MS = 1000;

/** Routes exempt from the per-key HTTP limit: probes and scrapes. */
const UNLIMITED_ROUTES = new Set(['/health', '/ready', '/metrics']);

/**
 * The Fastify instance with the cross-cutting HTTP layer, in order: request id, trusted hosts,
 * IP allow/deny lists and automatic blocks, security headers, CORS, body limit, metrics, logging.
 */
export async function createFastify(config: Config, logger: Logger, metrics: Metrics, admission: Admission): Promise<FastifyInstance> {
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
    // Slow clients are cut off (408): Fastify's default, 0, would let a trickled body hold its
    // connection forever. Node checks the deadlines every connectionsCheckingInterval ms.
    requestTimeout: config.requestTimeoutMs,
    http: { headersTimeout: config.headersTimeoutMs, connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS },
    // The admission gate's trust function, so HTTP and WebSocket agree on who the client is.
    trustProxy: config.trustedProxies.length > 0 ? admission.gate.trustProxy : false,
    // Requests that reach a draining server get our own 503 (below), GraphQL-shaped with Retry-After.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
  });
  app.decorateRequest('viewer', null);

  const headers = securityHeaders(config.production);
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  // Callback style (this runs on every request): reply and stop, or call done().
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(headers).header('x-request-id', request.id);
    if (closing) {
      // A request on a kept-alive connection during the drain: not served here, so another
      // instance can take it; the connection closes after this answer.
      reply.header('connection', 'close').header('retry-after', '1');
      sendError(reply, 503, ErrorCode.SERVICE_UNAVAILABLE, 'the server is shutting down; retry', { retryAfter: 1 });
      return;
    }
    const refusal = admission.gate.refusalOf(request.ip, request.headers.host);
    if (refusal) {
      sendError(reply, refusal.status, refusal.code, refusal.message);
      return;
    }
    const route = request.routeOptions.url;
    // The GraphQL route applies the limit itself, after authentication, keyed by user id.
    if (route === '/graphql' || (route && UNLIMITED_ROUTES.has(route))) return done();
    admission.budget
      .spend({ requestId: request.id, ip: request.ip, userAgent: request.headers['user-agent'] }, null, 'http')
      .then((state) => (answerBudget(reply, state) ? undefined : done()), done);
  });

  await app.register(fastifyCors, {
    origin: (origin, callback) => callback(null, origin === undefined ? false : originAllowed(origin, config.corsOrigins)),
    methods: ['GET', 'POST', 'OPTIONS'],
    allowedHeaders: ['content-type', 'authorization', 'apollo-require-preflight', 'x-apollo-operation-name', 'x-request-id'],
    exposedHeaders: ['x-request-id', 'retry-after', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'x-query-cost'],
    maxAge: 600,
  });

  // Callback style: the hook runs on every response and needs no promise.
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url;
    metrics.recordHttp(request.method, route ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
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
    if (isDatabaseUnavailable(error)) {
      request.log.warn({ reqId: request.id, err: error }, 'database unavailable');
      metrics.databaseUnavailable.inc();
      reply.header('retry-after', String(OUTAGE_RETRY_AFTER_SECONDS));
      return sendError(reply, 503, ErrorCode.SERVICE_UNAVAILABLE, DATABASE_UNAVAILABLE, { retryAfter: OUTAGE_RETRY_AFTER_SECONDS });
    }
    request.log.error({ reqId: request.id, err: error }, 'unhandled error');
    return sendError(reply, 500, ErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error');
  });

  return app;
}

function isCorsPreflight(request: FastifyRequest): boolean {
  return request.method === 'OPTIONS' && typeof request.headers.origin === 'string' && request.headers['access-control-request-method'] !== undefined;
}

export type { FastifyRequest };
