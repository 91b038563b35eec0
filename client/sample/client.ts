// The client wiring recommended to front-end teams: typed documents from codegen, Apollo Client 4,
// persisted-query ids from Apollo's manifest over HTTP, subscriptions over graphql-ws on the same
// path. The same code runs against a development server (automatic persisted queries: an unknown id
// is registered by sending the document once) and a production server started with
// TRUSTED_DOCUMENTS=client/generated/persisted-query-manifest.json (only those documents run).
// test/e2e/browser-client.test.ts runs it in Chromium against both.
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from '@apollo/client';
import { SetContextLink } from '@apollo/client/link/context';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { generatePersistedQueryIdsFromManifest } from '@apollo/persisted-query-lists';
import { OperationTypeNode } from 'graphql';
import { createClient } from 'graphql-ws';

export function createBastionClient(url: string, getToken: () => string | undefined) {
  const http = new HttpLink({ uri: `${url}/graphql` });
  const auth = new SetContextLink(({ headers }) => {
    const token = getToken();
    return { headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) } };
  });
  // Each operation is sent by its id in the manifest: the sha256 of the very text Apollo Client
  // would send, so a development server can register it and a production server finds it.
  const persisted = new PersistedQueryLink(
    generatePersistedQueryIdsFromManifest({
      loadManifest: () => import('../generated/persisted-query-manifest.json').then((manifest) => manifest.default),
    }),
  );
  const ws = new GraphQLWsLink(
    createClient({
      url: `${url.replace(/^http/, 'ws')}/graphql`,
      connectionParams: () => {
        const token = getToken();
        return token ? { authorization: `Bearer ${token}` } : {};
      },
    }),
  );
  const link = ApolloLink.split(
    ({ operationType }) => operationType === OperationTypeNode.SUBSCRIPTION,
    ws,
    ApolloLink.from([auth, persisted, http]),
  );
  return new ApolloClient({ link, cache: new InMemoryCache() });
}
