import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLContext } from './context.js';
import { answerOutagesWith503, auditMutations, countErrors, recordOperation, reportOwnershipDenials, type OperationAccounting } from './plugins.js';
import type { RefusedDocuments } from './refusedDocuments.js';
import { applyDocumentErrorStatus } from './responseStatus.js';

export interface RequestPluginOptions {
  accounting: OperationAccounting;
  /** Each mutation's `@audit` target type (src/graphql/auditTargets.ts). */
  auditTargets: ReadonlyMap<string, string>;
  refusedDocuments: RefusedDocuments;
}

/**
 * Everything Bastion does around a GraphQL request, as one Apollo plugin: Apollo calls every
 * plugin's hooks on every request, so six one-concern plugins cost six times the calls. The
 * concerns stay separate functions (plugins.ts); their order here is the order they run.
 */
export function requestPlugin({ accounting, auditTargets, refusedDocuments }: RequestPluginOptions): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      const started = performance.now();
      let refusedDocument = false;
      return {
        // Parsing and validation run only for documents Apollo has not cached (it caches those that pass).
        async parsingDidStart() {
          return async (error) => {
            refusedDocument = Boolean(error);
          };
        },
        async validationDidStart() {
          return async (errors) => {
            refusedDocument = Boolean(errors?.length);
          };
        },
        async didEncounterErrors(requestContext) {
          countErrors(requestContext);
          reportOwnershipDenials(requestContext);
        },
        async willSendResponse(requestContext) {
          recordOperation(requestContext, accounting, started);
          auditMutations(requestContext, auditTargets);
          answerOutagesWith503(requestContext);
          applyDocumentErrorStatus(requestContext);
          if (refusedDocument) refusedDocuments.remember(requestContext.source, requestContext.response);
        },
      };
    },
  };
}
