// The page's entry: the API is this page's origin unless `?api=<url>` names another.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';

const apiUrl = new URLSearchParams(window.location.search).get('api') ?? window.location.origin;

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App apiUrl={apiUrl} />
  </StrictMode>,
);
