import type { FastifyReply, FastifyRequest } from 'fastify';
import type { TrustedDocuments } from '../security/trustedDocuments.js';
import { sendError } from './server.js';

/**
 * Before Apollo runs: replace a trusted operation's id or text with the manifest's text, let an
 * unknown one through untouched (log-unknown mode), or refuse it. POST bodies are rewritten in
 * place; GET requests get their query string rewritten (the Apollo integration reads it from the URL).
 */
export function applyTrustedDocuments(trusted: TrustedDocuments, request: FastifyRequest, reply: FastifyReply): FastifyReply | undefined {
  if (request.method === 'POST') {
    const body = request.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined; // Apollo refuses these itself
    const source = body as Record<string, unknown>;
    const resolution = trusted.resolve(source);
    if (!resolution.ok) return refuse(reply, resolution.code, resolution.message);
    if (resolution.outcome === 'unknown') return undefined;
    source['query'] = resolution.query;
    delete source['documentId'];
    stripPersistedQuery(source);
    return undefined;
  }
  const url = new URL(request.url, 'http://localhost');
  const params = url.searchParams;
  if (!params.has('query') && !params.has('documentId') && !params.has('extensions')) return undefined; // landing page
  let extensions: unknown;
  try {
    extensions = params.has('extensions') ? JSON.parse(params.get('extensions')!) : undefined;
  } catch {
    extensions = undefined;
  }
  const resolution = trusted.resolve({
    query: params.get('query') ?? undefined,
    documentId: params.get('documentId') ?? undefined,
    operationName: params.get('operationName') ?? undefined,
    extensions,
  });
  if (!resolution.ok) return refuse(reply, resolution.code, resolution.message);
  if (resolution.outcome === 'unknown') return undefined;
  params.set('query', resolution.query);
  params.delete('documentId');
  if (extensions && typeof extensions === 'object') {
    stripPersistedQuery({ extensions });
    params.set('extensions', JSON.stringify(extensions));
  }
  request.raw.url = `${url.pathname}?${params.toString()}`;
  return undefined;
}

function stripPersistedQuery(source: { extensions?: unknown }): void {
  const extensions = source.extensions as Record<string, unknown> | undefined;
  if (extensions && typeof extensions === 'object') delete extensions['persistedQuery'];
}

function refuse(reply: FastifyReply, code: 'PERSISTED_QUERY_NOT_FOUND' | 'FORBIDDEN', message: string): FastifyReply {
  // A hash missing from the manifest is the client's mistake (404); Apollo Client's persisted-query
  // link still recognises PERSISTED_QUERY_NOT_FOUND in a non-2xx body and retries with the text.
  return sendError(reply, code === 'FORBIDDEN' ? 403 : 404, code, message);
}
