import type { ApolloServer } from '@apollo/server';
import { fastifyApolloHandler } from '@as-integrations/fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';
import type { GraphQLContext } from '../graphql/context.js';
import type { RequestInfo } from '../kernel/requestIdentity.js';
import type { Admission } from '../graphql/admission.js';
import type { RefusedDocuments } from '../graphql/refusedDocuments.js';
import { documentErrorStatus, responseMediaType } from '../graphql/responseStatus.js';
import type { Metrics } from '../observability/metrics.js';
import { statusOf } from '../identity/authenticate.js';
import type { TrustedDocuments } from '../security/trustedDocuments.js';
import { LANDING_PAGE_CSP } from './headers.js';
import type { InFlightRequests } from './inFlightRequests.js';
import { answerBudget, sendError } from './server.js';
import { applyTrustedDocuments } from './trustedDocumentsHook.js';

export function requestInfoOf(request: FastifyRequest): RequestInfo {
  return { requestId: request.id, ip: request.ip, userAgent: request.headers['user-agent'] };
}

/**
 * POST and GET /graphql through Apollo, after the admission pipeline's steps for HTTP (the client
 * gate ran in the server's onRequest hook): authentication (a bad token is refused with 401/403),
 * the per-key request budget, trusted documents; Apollo then parses and validates with the
 * pipeline's rules, and the context comes from the pipeline's factory.
 */
export function registerGraphQLRoute(
  app: FastifyInstance,
  apollo: ApolloServer<GraphQLContext>,
  admission: Admission,
  trustedDocuments: TrustedDocuments | undefined,
  metrics: Metrics,
  inFlight: InFlightRequests,
): void {
  const handler = fastifyApolloHandler(apollo, {
    context: async (request): Promise<GraphQLContext> => admission.context(requestInfoOf(request), request.viewer, 'http'),
  });

  app.route({
    method: ['GET', 'POST'],
    url: '/graphql',
    preHandler: async (request, reply) => {
      const info = requestInfoOf(request);
      try {
        const viewer = admission.authenticate(request.headers.authorization, info);
        request.viewer = viewer instanceof Promise ? await viewer : viewer; // no await for a cached answer
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        reply.header('www-authenticate', 'Bearer error="invalid_token"');
        return sendError(reply, statusOf(error), error.extensions['code'] as never, error.message);
      }
      if (answerBudget(reply, await admission.budget.spend(info, request.viewer, 'http'))) return reply;
      if (trustedDocuments && applyTrustedDocuments(trustedDocuments, request, reply)) return reply;
      return answerRefusedDocument(admission.refusedDocuments, metrics, request, reply);
    },
    onSend: (request, reply, payload, done) => {
      const type = String(reply.getHeader('content-type') ?? '');
      if (type.startsWith('text/html')) {
        reply.header('content-security-policy', LANDING_PAGE_CSP);
        return done(null, payload);
      }
      done(null, typeof payload === 'string' ? withRequestId(payload, request.id) : payload);
    },
    handler: function (request, reply) {
      return inFlight.track(async () => handler.call(this, request as Parameters<typeof handler>[0], reply as Parameters<typeof handler>[1]));
    },
  });
}

/**
 * A document parsing or validation refused lately is answered again from memory, as Apollo answered it (same
 * errors, status and media type), without parsing or validating it again. Only plain JSON POSTs
 * whose other members are well-formed: anything else goes to Apollo, which explains what is wrong.
 */
function answerRefusedDocument(refused: RefusedDocuments, metrics: Metrics, request: FastifyRequest, reply: FastifyReply): FastifyReply | undefined {
  const body = request.body as Record<string, unknown> | null | undefined;
  if (request.method !== 'POST' || typeof body !== 'object' || body === null || typeof body['query'] !== 'string') return undefined;
  const errors = refused.errorsFor(body['query']);
  if (!errors) return undefined;
  if (!optionalOf(body['operationName'], 'string') || !optionalOf(body['variables'], 'object') || !optionalOf(body['extensions'], 'object')) return undefined;
  const accept = request.headers.accept;
  const mediaType = responseMediaType(accept);
  if (!mediaType) return undefined;
  const requestId = request.id;
  for (const error of errors) metrics.graphqlErrors.inc({ code: String(error.extensions?.['code']) });
  metrics.recordOperation('anonymous', 'unknown', 'error', reply.elapsedTime / 1000); // as Apollo records a refusal
  const payload = JSON.stringify({ errors: errors.map((error) => ({ ...error, extensions: { ...error.extensions, requestId } })) });
  // A Buffer: the body already carries the request id, so onSend need not parse it to add it.
  return reply.code(documentErrorStatus(accept)).type(`${mediaType}; charset=utf-8`).send(Buffer.from(payload));
}

function optionalOf(value: unknown, type: 'string' | 'object'): boolean {
  return value === undefined || value === null || (typeof value === type && !Array.isArray(value));
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
