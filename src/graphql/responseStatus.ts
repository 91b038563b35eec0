import type { BaseContext, GraphQLRequestListener } from '@apollo/server';
import Negotiator from 'negotiator';
import { ErrorCode } from '../errors.js';

/** The media types Apollo answers a single result with, in its order of preference. */
const MEDIA_TYPES = ['application/json', 'application/graphql-response+json'];

/** Request errors of a well-formed GraphQL-over-HTTP request: the document or its variables are wrong. */
const DOCUMENT_ERROR_CODES = new Set<unknown>([ErrorCode.GRAPHQL_PARSE_FAILED, ErrorCode.GRAPHQL_VALIDATION_FAILED, ErrorCode.BAD_USER_INPUT]);

/**
 * GraphQL over HTTP: a client that accepts only `application/json` cannot tell a GraphQL response
 * from a proxy's error page by its body, so parse, validation and variable-coercion failures
 * SHOULD answer 200 there. `application/graphql-response+json` keeps Apollo's 4xx.
 */
export function documentErrorStatus(accept: string | undefined): 200 | 400 {
  return responseMediaType(accept) === 'application/json' ? 200 : 400;
}

/** The media type Apollo answers with (null: the client accepts neither, Apollo answers 406). */
export function responseMediaType(accept: string | undefined): string | null {
  return accept ? (new Negotiator({ headers: { accept } }).mediaType(MEDIA_TYPES) ?? null) : MEDIA_TYPES[0]!;
}

/** Applies documentErrorStatus to Apollo's answer. */
export function applyDocumentErrorStatus({ request, response, errors }: Parameters<Required<GraphQLRequestListener<BaseContext>>['willSendResponse']>[0]): void {
  if (response.body.kind !== 'single' || response.body.singleResult.data !== undefined) return;
  if (!errors?.length || !errors.every((error) => DOCUMENT_ERROR_CODES.has(error.extensions?.['code']))) return;
  if (documentErrorStatus(request.http?.headers.get('accept')) === 200) response.http.status = 200;
}
