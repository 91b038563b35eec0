import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { projectRoot } from '../db/projectPaths.js';
import { ErrorCode } from '../errors.js';
import { sendError } from './server.js';

/** Where `npm run ide:build` writes the GraphiQL page (client/ide). */
export const IDE_DIR = path.join(projectRoot(), 'dist', 'ide');

/**
 * The page's own CSP: scripts, styles and fonts from this origin only, requests to this origin only
 * (`'self'` covers its ws:// URL), never framed. Nothing reaches the internet.
 */
export const IDE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.woff2': 'font/woff2',
};

/**
 * GraphiQL at /graphiql, from the server's own origin: an IDE that works with no internet, beside
 * Apollo Sandbox (still the landing page of /graphql). Development only. The files are read once at
 * start and served by name, so no request can reach another file.
 */
export function registerLocalIde(app: FastifyInstance): void {
  const files = new Map<string, { type: string; body: Buffer }>();
  const add = (name: string, file: string) => files.set(name, { type: TYPES[path.extname(file)] ?? 'application/octet-stream', body: readFileSync(file) });
  if (existsSync(path.join(IDE_DIR, 'index.html'))) {
    add('index.html', path.join(IDE_DIR, 'index.html'));
    for (const name of readdirSync(path.join(IDE_DIR, 'assets'))) add(`assets/${name}`, path.join(IDE_DIR, 'assets', name));
  }

  const serve = (name: string) => (_request: unknown, reply: FastifyReply) => {
    const file = files.get(name);
    if (!file) return sendError(reply, 404, ErrorCode.NOT_FOUND, 'GraphiQL is not built: run `npm run ide:build`');
    return reply.header('content-security-policy', IDE_CSP).type(file.type).send(file.body);
  };
  // /graphiql (no slash) redirects, so the page's relative asset URLs resolve under /graphiql/.
  app.get('/graphiql', (request, reply) => reply.redirect(`/graphiql/${request.url.slice('/graphiql'.length)}`));
  app.get('/graphiql/', serve('index.html'));
  app.get('/graphiql/assets/:name', (request, reply) => serve(`assets/${(request.params as { name: string }).name}`)(request, reply));
}
