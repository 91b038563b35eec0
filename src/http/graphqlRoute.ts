import type { ApolloServer } from '@apollo/server';
import { fastifyApolloHandler } from '@as-integrations/fastify';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';
import type { GraphQLContext, RequestInfo } from '../graphql/context.js';
import { Loaders } from '../graphql/loaders.js';
import { authenticate, authenticateFromCache, statusOf } from '../identity/authenticate.js';
import type { Services } from '../services.js';
import { LANDING_PAGE_CSP } from './headers.js';
import { sendError } from './server.js';
import { enforceTrustedDocuments } from './trustedDocumentsHook.js';

export function requestInfoOf(request: FastifyRequest): RequestInfo {
  return { requestId: request.id, ip: request.ip, userAgent: request.headers['user-agent'] };
}

/**
 * POST and GET /graphql through Apollo. Before Apollo runs: authentication (once per request;
 * a bad token is refused with 401/403) and the per-key request limit.
 */
export function registerGraphQLRoute(app: FastifyInstance, apollo: ApolloServer<GraphQLContext>, services: Services): void {
  const handler = fastifyApolloHandler(apollo, {
    // One flat literal: this runs on every request (a spread of a temporary object costs ~2 %).
    context: async (request): Promise<GraphQLContext> => ({
      requestId: request.id,
      ip: request.ip,
      userAgent: request.headers['user-agent'],
      viewer: request.viewer,
      transport: 'http',
      services,
      security: services.security,
      loaders: new Loaders(services.db),
    }),
  });

  app.route({
    method: ['GET', 'POST'],
    url: '/graphql',
    preHandler: async (request, reply) => {
      // Most requests carry a token seen before: answered from the caches without awaiting anything.
      const known = authenticateFromCache(services, request.headers.authorization);
      try {
        request.viewer = known !== undefined ? known : await authenticate(services, request.headers.authorization, requestInfoOf(request));
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        reply.header('www-authenticate', 'Bearer error="invalid_token"');
        return sendError(reply, statusOf(error), error.extensions['code'] as never, error.message);
      }
      const limited = await services.httpLimiter.check(request, reply, request.viewer?.id ?? null);
      if (limited || !services.trustedDocuments) return limited;
      return enforceTrustedDocuments(services.trustedDocuments, request, reply);
    },
    onSend: (request, reply, payload, done) => {
      const type = String(reply.getHeader('content-type') ?? '');
      if (type.startsWith('text/html')) {
        reply.header('content-security-policy', LANDING_PAGE_CSP);
        return done(null, payload);
      }
      done(null, typeof payload === 'string' ? withRequestId(payload, request.id) : payload);
    },
    handler,
  });
}

/** Every error carries the request id, including Apollo's own HTTP-level errors. */
function withRequestId(payload: string, requestId: string): string {
  if (!payload.includes('"errors"')) return payload;
  try {
    const body = JSON.parse(payload) as { errors?: Array<{ extensions?: Record<string, unknown> }> };
    if (!Array.isArray(body.errors)) return payload;
    for (const error of body.errors) error.extensions = { ...error.extensions, requestId };
    return JSON.stringify(body);
  } catch {
    return payload;
  }
}
