import type { ApolloServerPlugin } from '@apollo/server';
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
export function graphqlOverHttpStatusPlugin(): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ request, response, errors }) {
          if (response.body.kind !== 'single' || response.body.singleResult.data !== undefined) return;
          if (!errors?.length || !errors.every((error) => DOCUMENT_ERROR_CODES.has(error.extensions?.['code']))) return;
          const accept = request.http?.headers.get('accept');
          const mediaType = accept ? new Negotiator({ headers: { accept } }).mediaType(MEDIA_TYPES) : MEDIA_TYPES[0];
          if (mediaType === 'application/json') response.http.status = 200;
        },
      };
    },
  };
}
