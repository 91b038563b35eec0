import { execFileSync } from 'node:child_process';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { ROOT } from './process.js';

const ADMIN_URL = process.env.PG_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

declare module 'vitest' {
  export interface ProvidedContext {
    pgAvailable: boolean;
  }
}

/**
 * Builds dist/ (and the local GraphiQL page, dist/ide) once per run, so tests that spawn
 * `node dist/src/main.js` run this code; then
 * checks PostgreSQL. With CI=true the PostgreSQL leg must run: an unreachable server fails the run.
 */
export default async function setup(project: TestProject): Promise<void> {
  execFileSync(process.execPath, [`${ROOT}/node_modules/typescript/bin/tsc`, '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  // The local GraphiQL page a development server serves (npm run ide:build).
  // NODE_ENV as a user's shell has it (vitest sets "test", which would bundle React's development build).
  execFileSync(process.execPath, [`${ROOT}/node_modules/vite/bin/vite.js`, 'build', 'client/ide', '--logLevel', 'warn'], {
    cwd: ROOT,
    stdio: 'inherit',
    env: { ...process.env, NODE_ENV: 'production' },
  });
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    project.provide('pgAvailable', true);
  } catch (error) {
    if (process.env.CI === 'true') throw new Error(`PostgreSQL is required in CI (${ADMIN_URL}): ${(error as Error).message}`);
    project.provide('pgAvailable', false);
    console.warn('PostgreSQL is not reachable: the postgres project is skipped (never with CI=true).');
  } finally {
    await client.end().catch(() => undefined);
  }
}
