import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, inject, it } from 'vitest';
import { ROOT } from '../helpers/process.js';

const run = promisify(execFile);

/** The database commands README gives, run as a newcomer would. */
describe('database scripts', () => {
  it('npm run db:migrate applies pending migrations once, then finds none', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bastion-migrate-'));
    try {
      const env = { ...process.env, DATA_DIR: dataDir, DATABASE_URL: '' };
      const first = await run('npm', ['run', 'db:migrate'], { cwd: ROOT, env });
      expect(first.stdout).toMatch(/applied to .*bastion\.db: \d+_init/);
      const second = await run('npm', ['run', 'db:migrate'], { cwd: ROOT, env });
      expect(second.stdout).toContain('is up to date: no pending migrations');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it.skipIf(!inject('pgAvailable'))('npm run db:migration:new writes nothing while the models are covered', async () => {
    const folders = (provider: string) => readdirSync(path.join(ROOT, 'prisma', provider, 'migrations'));
    const before = { sqlite: folders('sqlite'), postgres: folders('postgres') };
    const { stdout } = await run('npm', ['run', 'db:migration:new', '--', 'unchanged'], { cwd: ROOT, timeout: 120_000 });
    expect(stdout).toContain('No changes');
    expect({ sqlite: folders('sqlite'), postgres: folders('postgres') }).toEqual(before);
  });
});
