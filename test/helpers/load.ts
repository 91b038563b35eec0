import http from 'node:http';

export interface RawGraphQLResult {
  status: number;
  body: { data?: Record<string, unknown> | null; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };
}

/**
 * One GraphQL POST on a connection of its own (no keep-alive), through node:http: a refused or
 * reset connection surfaces as the socket error it is (ECONNREFUSED, ECONNRESET), which is what
 * lifecycle tests tell apart.
 */
export function postOnce(url: string, query: string, variables: Record<string, unknown>, token?: string): Promise<RawGraphQLResult> {
  const body = JSON.stringify({ query, variables });
  return new Promise((resolve, reject) => {
    const request = http.request(
      `${url}/graphql`,
      {
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...(token ? { authorization: `Bearer ${token}` } : {}) },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => {
          try {
            resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) as RawGraphQLResult['body'] });
          } catch {
            reject(new Error(`not JSON (HTTP ${response.statusCode}): ${text.slice(0, 200)}`));
          }
        });
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

export interface LoadOutcome {
  /** Titles of the reports the server acknowledged (HTTP 200 with the created id). */
  acknowledged: Map<string, string>;
  /** Answers that were not an acknowledgement, by HTTP status and code. */
  refused: Map<string, number>;
  /** Socket errors other than "connection refused", by code. */
  socketErrors: Map<string, number>;
}

const CREATE_REPORT = 'mutation Create($input: CreateReportInput!) { createReport(input: $input) { id } }';

/**
 * Clients creating reports in a loop, one connection per request, until `stop()` or until the
 * server refuses connections (it has stopped listening). Each title is unique, so the database
 * can be compared with what was acknowledged.
 */
export function createReportsUntilStopped(url: string, tokens: string[], tag: string): { stop: () => void; done: Promise<LoadOutcome> } {
  let stopped = false;
  const outcome: LoadOutcome = { acknowledged: new Map(), refused: new Map(), socketErrors: new Map() };
  const bump = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
  const client = async (token: string, n: number) => {
    for (let i = 0; !stopped; i++) {
      const title = `${tag}-${n}-${i}`;
      try {
        const res = await postOnce(url, CREATE_REPORT, { input: { title } }, token);
        const id = (res.body.data?.['createReport'] as { id?: string } | null | undefined)?.id;
        if (res.status === 200 && id) outcome.acknowledged.set(title, id);
        else bump(outcome.refused, `${res.status} ${String(res.body.errors?.[0]?.extensions?.['code'])}`);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
        if (code === 'ECONNREFUSED') return; // the server has stopped listening: nothing was accepted
        bump(outcome.socketErrors, code);
      }
    }
  };
  const done = Promise.all(tokens.map((token, n) => client(token, n))).then(() => outcome);
  return { stop: () => (stopped = true), done };
}

/**
 * A request held in flight: headers and half the body now, the rest on `finish()`, like a slow
 * client. `Expect: 100-continue` makes the server confirm it has taken the request (parsed its
 * headers) before this resolves, so a signal sent afterwards finds it accepted.
 */
export async function heldRequest(url: string): Promise<{ finish: () => Promise<string> }> {
  const { port, hostname } = new URL(url);
  const body = JSON.stringify({ query: '{ __typename }' });
  const net = await import('node:net');
  const socket = net.connect(Number(port), hostname);
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let response = '';
  socket.on('data', (chunk) => (response += chunk.toString()));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.write(
    `POST /graphql HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\nExpect: 100-continue\r\n\r\n`,
  );
  const deadline = Date.now() + 10_000;
  while (!response.includes('100 Continue')) {
    if (Date.now() > deadline) throw new Error(`the server did not take the request: ${JSON.stringify(response)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  socket.write(body.slice(0, 10));
  return {
    finish: async () => {
      socket.write(body.slice(10));
      await closed;
      return response.replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, '');
    },
  };
}
