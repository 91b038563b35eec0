// Subscribe to alerts over graphql-ws: node examples/subscribe.mjs <access token> [url]
// Prints each alert as a JSON line. Stops after the first one when ONCE=1 (used by the README test).
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [token, url = 'ws://localhost:4000/graphql'] = process.argv.slice(2);
const client = createClient({ url, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` } });

const stop = client.subscribe(
  { query: 'subscription { alertRaised(minSeverity: INFO) { id severity kind message createdAt } }' },
  {
    next: (result) => {
      console.log(JSON.stringify(result.data ?? result.errors));
      if (process.env.ONCE === '1') {
        stop();
        void client.dispose();
      }
    },
    error: (error) => {
      console.error('subscription failed:', error);
      process.exitCode = 1;
    },
    complete: () => void client.dispose(),
  },
);
console.error('subscribed; waiting for alerts (Ctrl+C to stop)');
