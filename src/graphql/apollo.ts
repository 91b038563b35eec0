import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
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
import type { GraphQLContext } from './context.js';
import type { ErrorMasker } from './errorMasking.js';
import { auditTargets } from './auditTargets.js';
import { auditMutationsPlugin, operationMetricsPlugin, outageStatusPlugin, ownershipDeniedPlugin, type OperationAccounting } from './plugins.js';
import { graphqlOverHttpStatusPlugin } from './responseStatus.js';

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
  /** The one error masker, shared with the WebSocket transport. */
  maskError: ErrorMasker;
  fastify: FastifyInstance;
  extraPlugins?: ApolloServerPlugin<GraphQLContext>[];
}

export function createApollo(options: ApolloOptions): ApolloServer<GraphQLContext> {
  const { config } = options;
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
    // Automatic persisted queries in development; with trusted documents only the manifest runs.
    persistedQueries: config.trustedDocuments ? false : undefined,
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
      operationMetricsPlugin(options.accounting),
      auditMutationsPlugin(auditTargets(options.schema)),
      ownershipDeniedPlugin(),
      outageStatusPlugin(),
      graphqlOverHttpStatusPlugin(),
      ...(options.extraPlugins ?? []),
    ],
  });
}
