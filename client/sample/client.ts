// A sample client wiring for front-end teams: typed documents from codegen, Apollo Client 4,
// persisted-document hashes over HTTP, subscriptions over graphql-ws on the same path.
// CI typechecks it (`npm run client:typecheck`), so a contract change that breaks it fails CI.
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from '@apollo/client';
import { SetContextLink } from '@apollo/client/link/context';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { OperationTypeNode } from 'graphql';
import { createClient } from 'graphql-ws';

export function createBastionClient(url: string, getToken: () => string | undefined) {
  const http = new HttpLink({ uri: `${url}/graphql` });
  const auth = new SetContextLink(({ headers }) => {
    const token = getToken();
    return { headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) } };
  });
  // Send the codegen hash instead of the document (works with TRUSTED_DOCUMENTS in production).
  const persisted = new PersistedQueryLink({
    generateHash: (document) => (document as unknown as { __meta__: { hash: string } }).__meta__.hash.replace(/^sha256:/, ''),
  });
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
