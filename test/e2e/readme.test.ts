import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startServerProcess, type ServerProcess } from '../helpers/process.js';
import { createStorage, testDb, testEnv, type TestStorage } from '../helpers/server.js';

const run = promisify(execFile);

/** The README's shell blocks marked `<!-- readme:run -->`, in order. */
function readmeBlocks(): string[] {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  return [...readme.matchAll(/<!-- readme:run -->\s*```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

// The README's commands do not depend on the database: they run once, on the embedded default.
describe.skipIf(testDb() !== 'sqlite')('README: the commands a newcomer runs', () => {
  let storage: TestStorage;
  let server: ServerProcess;
  beforeAll(async () => {
    storage = await createStorage();
    // What `npm start` runs: the build (its prestart step), then the compiled server. (Run through
    // npm itself, the server would outlive the test: npm does not pass SIGTERM on to it here.)
    await run('npm', ['run', 'build'], { cwd: ROOT });
    server = await startServerProcess(
      { ...testEnv(storage), ADMIN_EMAIL: 'admin@example.com', ADMIN_PASSWORD: 'change-me-please-123' },
      30_000,
      [process.execPath, 'dist/src/main.js'],
    );
  }, 180_000);
  afterAll(async () => {
    server?.child.kill('SIGTERM');
    await server?.exit;
    await storage?.dispose();
  });

  it('has the blocks this test runs', () => {
    expect(readmeBlocks().length).toBeGreaterThanOrEqual(2);
  });

  it('runs every marked block without an error', async () => {
    for (const block of readmeBlocks()) {
      const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', block], {
        cwd: ROOT,
        env: { ...process.env, URL: server.url },
        timeout: 30_000,
      });
      expect(stdout).not.toContain('"errors"');
      expect(stdout.trim().length).toBeGreaterThan(0);
    }
  });
});
