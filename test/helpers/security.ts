import http from 'node:http';
import WebSocket from 'ws';
import { expect } from 'vitest';
import { GRAPHQL_CLIENT_ACCEPT, type GqlResponse, type TestServer } from './server.js';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: GqlResponse['body'] | undefined;
}

/**
 * One HTTP request through node:http, which (unlike fetch) lets a test set any header,
 * Host and X-Forwarded-For included, and send any body with any content type.
 */
export function rawRequest(
  server: TestServer,
  options: { method?: string; path?: string; headers?: Record<string, string>; body?: string | Buffer },
): Promise<RawResponse> {
  const url = new URL(options.path ?? '/graphql', server.url);
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: options.method ?? 'POST', headers: options.headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: GqlResponse['body'] | undefined;
        try {
          json = JSON.parse(text) as GqlResponse['body'];
        } catch {
          json = undefined;
        }
        resolve({ status: response.statusCode ?? 0, headers: response.headers, text, json });
      });
    });
    request.on('error', reject);
    request.end(options.body);
  });
}

/** POSTs a GraphQL body as JSON, with extra headers (X-Forwarded-For, Authorization…), accepting what Apollo Client 4 accepts. */
export function postJson(server: TestServer, body: unknown, headers: Record<string, string> = {}): Promise<RawResponse> {
  return rawRequest(server, { headers: { 'content-type': 'application/json', accept: GRAPHQL_CLIENT_ACCEPT, ...headers }, body: JSON.stringify(body) });
}

/** Nothing internal reaches the client: no stack, no source paths, no exception details. */
export function expectNoLeak(body: unknown): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  expect(text).not.toMatch(/stacktrace|"stack"|"exception"|node_modules|\/src\/|\.ts:\d+|at [A-Za-z.]+ \(/);
}

/** A refusal: the given status and code on every error, and no data at all. */
export function expectRefused(response: { status: number; json?: GqlResponse['body']; body?: GqlResponse['body'] }, status: number, code: string): void {
  const body = response.json ?? response.body;
  expect(response.status).toBe(status);
  expect(body?.errors?.length).toBeGreaterThan(0);
  expect(body?.errors?.map((e) => e.extensions?.['code'])).toEqual(body?.errors?.map(() => code));
  expect(body?.data ?? null).toBeNull();
  expectNoLeak(body);
}

/** The HTTP status a WebSocket upgrade to /graphql gets (101 when it opens). */
export function upgradeStatus(server: TestServer, options: { origin?: string; headers?: Record<string, string> }): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const socket = new WebSocket(`${server.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws', options);
    socket.on('open', () => {
      socket.close();
      resolve(101);
    });
    socket.on('unexpected-response', (_req, res) => {
      socket.terminate();
      resolve(res.statusCode ?? 0);
    });
    socket.on('error', reject);
  });
}
