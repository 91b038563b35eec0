import { ApolloServer, type ApolloServerPlugin, type DocumentStore } from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { fastifyApolloDrainPlugin } from '@as-integrations/fastify';
import type { FastifyInstance } from 'fastify';
import type { GraphQLSchema, ValidationRule } from 'graphql';
import type { Config } from '../config/config.js';
import type { Logger } from '../observability/logger.js';
import type { TrustedDocuments } from '../security/trustedDocuments.js';
import type { GraphQLContext } from './context.js';
import type { ErrorMasker } from './errorMasking.js';
import { auditTargets } from './auditTargets.js';
import type { OperationAccounting } from './plugins.js';
import type { RefusedDocuments } from './refusedDocuments.js';
import { requestPlugin } from './requestPlugin.js';

/** A response carries at most this many validation errors: a flood of bad directives yields a few, not thousands. */
export const MAX_VALIDATION_ERRORS = 5;

/** graphql stops after `maxErrors` and appends its own "Validation aborted" error, the last one. */
export const VALIDATION_OPTIONS = { maxErrors: MAX_VALIDATION_ERRORS - 1 };

export interface ApolloOptions {
  schema: GraphQLSchema;
  config: Config;
  logger: Logger;
  /** The admission pipeline's step 4 rules (src/graphql/admission.ts), the same for every transport. */
  validationRules: ValidationRule[];
  parseOptions: { maxTokens: number };
  /** The admission pipeline's per-operation step: cost histogram, measured limits, EXPOSE_COST. */
  accounting: OperationAccounting;
  /** Where parse and validation refusals are remembered, for the route to answer repeats (refusedDocuments.ts). */
  refusedDocuments: RefusedDocuments;
  /** The one error masker, shared with the WebSocket transport. */
  maskError: ErrorMasker;
  /** The trusted-documents list (TRUSTED_DOCUMENTS), when set. */
  trustedDocuments: TrustedDocuments | undefined;
  fastify: FastifyInstance;
  extraPlugins?: ApolloServerPlugin<GraphQLContext>[];
}

/**
 * Apollo's document cache, answered from the trusted-documents list. Apollo keys it by the sha256
 * of the text it runs, which for a manifest document is its id (the route has put the manifest's
 * text in the request), and skips parsing and validation on a hit. Nothing else is cached: in
 * these modes every document that reaches Apollo comes from the list.
 */
function trustedDocumentStore(trusted: TrustedDocuments): DocumentStore {
  return {
    // A key given to a custom store is `<schema hash>:<query hash>`.
    get: async (key) => trusted.get(key.slice(key.lastIndexOf(':') + 1))?.document,
    set: async () => undefined,
    delete: async () => undefined,
  };
}

export function createApollo(options: ApolloOptions): ApolloServer<GraphQLContext> {
  const { config, trustedDocuments } = options;
  // Only the list runs (enforce, require-id): Apollo's own persisted queries are off, and its
  // documents come from the list, parsed and validated at load.
  const listOnly = trustedDocuments !== undefined && trustedDocuments.mode !== 'log-unknown';
  return new ApolloServer<GraphQLContext>({
    schema: options.schema,
    logger: options.logger,
    // Production mode: no introspection, no "Did you mean", no landing page, no stack traces.
    introspection: !config.production,
    hideSchemaDetailsFromClientErrors: config.production,
    includeStacktraceInErrorResponses: false,
    formatError: options.maskError,
    validationRules: options.validationRules,
    validationOptions: VALIDATION_OPTIONS,
    parseOptions: options.parseOptions,
    csrfPrevention: true,
    // Automatic persisted queries, as without a list in log-unknown mode; off when only the list runs.
    persistedQueries: listOnly ? false : undefined,
    ...(listOnly ? { documentStore: trustedDocumentStore(trustedDocuments) } : {}),
    allowBatchedHttpRequests: false,
    // src/main.ts owns SIGTERM/SIGINT and drains everything in order; Apollo's own handlers would
    // stop Apollo and then re-send the signal, killing the process mid-drain.
    stopOnTerminationSignals: false,
    plugins: [
      // Lets in-flight requests finish when the server stops.
      fastifyApolloDrainPlugin(options.fastify),
      // Installed by default, unused here (no cache hints, not a federation subgraph). While any
      // plugin hooks willResolveField, Apollo wraps every resolver: ~9% of a small query's cost.
      ApolloServerPluginCacheControlDisabled(),
      ApolloServerPluginInlineTraceDisabled(),
      config.production
        ? ApolloServerPluginLandingPageDisabled()
        : ApolloServerPluginLandingPageLocalDefault({ embed: { endpointIsEditable: false }, includeCookies: false }),
      requestPlugin({ accounting: options.accounting, auditTargets: auditTargets(options.schema), refusedDocuments: options.refusedDocuments }),
      ...(options.extraPlugins ?? []),
    ],
  });
}
