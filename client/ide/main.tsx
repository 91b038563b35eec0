// GraphiQL served by a development server from its own origin (/graphiql), for when Apollo Sandbox
// cannot load (no internet, or a network that blocks Apollo's CDN). Queries and mutations go over
// HTTP, subscriptions over graphql-ws, both to this origin. `?query=` preloads the editor.
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { GraphiQL } from 'graphiql';
import 'graphiql/style.css';
import './page.css';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';

const origin = window.location.origin;
const fetcher = createGraphiQLFetcher({ url: `${origin}/graphql`, subscriptionUrl: `${origin.replace(/^http/, 'ws')}/graphql` });
const query = new URLSearchParams(window.location.search).get('query') ?? undefined;

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <GraphiQL fetcher={fetcher} query={query} shouldPersistHeaders={false} />
  </StrictMode>,
);
