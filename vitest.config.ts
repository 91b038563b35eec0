import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

// graphql 16 has no exports map: Vite could load index.mjs while Node loads index.js, giving two
// copies of graphql ("another module or realm"). Pin every import to the one CommonJS entry.
const graphqlEntry = createRequire(import.meta.url).resolve('graphql');

const shared = {
  resolve: { alias: [{ find: /^graphql$/, replacement: graphqlEntry }] },
};

/**
 * Pure unit and database-layer tests once; the end-to-end suite (a real server, HTTP and
 * WebSocket, a browser) once on SQLite and once on PostgreSQL, each file in a database of its own;
 * then, alone, the few latency bounds an issue asks to be shown in a test.
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
      // Latency bounds the issues ask for: each database's run alone, after everything else.
      { ...shared, extends: true, test: { name: 'timing-sqlite', include: ['test/timing/**/*.test.ts'], env: { TEST_DB: 'sqlite' }, sequence: { groupOrder: 1 } } },
      { ...shared, extends: true, test: { name: 'timing-postgres', include: ['test/timing/**/*.test.ts'], env: { TEST_DB: 'postgres' }, sequence: { groupOrder: 2 } } },
    ],
  },
});
