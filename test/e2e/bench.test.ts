import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/process.js';
import { testDb } from '../helpers/server.js';

const run = promisify(execFile);

// Benchmarks are not tests: no figure is asserted. This only proves `npm run bench -- --quick`
// still runs end to end (it builds, starts every stack, and writes its report).
describe.skipIf(testDb() !== 'sqlite')('benchmark suite', () => {
  it('runs in quick mode and writes a report', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bastion-bench-smoke-'));
    try {
      const out = path.join(dir, 'BENCHMARKS.md');
      await run('npm', ['run', 'bench', '--', '--quick', '--out', out], { cwd: ROOT, timeout: 600_000 });
      const report = readFileSync(out, 'utf8');
      for (const heading of ['# Benchmarks', '## Ratios (same run)', '## Targets']) expect(report).toContain(heading);
      expect(report).toMatch(/\| authenticated `Me` \| Bastion \| [\d,]+ \|/);
      // Every refusal the bench loads was first checked to be refused by its own limit.
      for (const limit of ['depth', 'aliases', 'cost', 'tokens']) expect(report).toMatch(new RegExp(`\\| refused by ${limit} ≥ 1\\.0× \`Me\`'s rate \\| [\\d.]+× \\|`));
      expect(report).toMatch(/\| idle RSS after start-up ≤ 150 MB \| [\d.]+ MB \|/);
      for (const database of ['SQLite', 'PostgreSQL']) {
        expect(report).toMatch(new RegExp(`\\| \`Reports\\(first: 20\\)\` with authors, over [\\d,]+ reports, ${database} \\| Bastion \\| [\\d,]+ \\|`));
        expect(report).toMatch(new RegExp(`\\| \`CreateReport\` \\(\\+ its audit row\\), ${database} \\| no-ORM limit: [^|]+ \\| [\\d,]+ \\|`));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 600_000);
});
