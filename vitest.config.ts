import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

// graphql 16 has no exports map: Vite could load index.mjs while Node loads index.js, giving two
// copies of graphql ("another module or realm"). Pin every import to the one CommonJS entry.
const graphqlEntry = createRequire(import.meta.url).resolve('graphql');

const shared = {
  resolve: { alias: [{ find: /^graphql$/, replacement: graphqlEntry }] },
};

/**
 * Three projects: pure unit and database-layer tests once; the end-to-end suite (a real server,
 * HTTP and WebSocket) once on SQLite and once on PostgreSQL, each file in a database of its own.
 */
export default defineConfig({
  ...shared,
  test: {
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    globalSetup: ['test/helpers/globalSetup.ts'],
    projects: [
      { ...shared, extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts', 'test/db/**/*.test.ts'] } },
      { ...shared, extends: true, test: { name: 'sqlite', include: ['test/e2e/**/*.test.ts'], env: { TEST_DB: 'sqlite' } } },
      { ...shared, extends: true, test: { name: 'postgres', include: ['test/e2e/**/*.test.ts'], env: { TEST_DB: 'postgres' } } },
    ],
  },
});
