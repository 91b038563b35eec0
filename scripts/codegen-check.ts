// CI guard: generated files must match the schema and operations. Regenerates them and compares
// with what was there, so a stale commit fails naming the files to commit.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const files = [
  'src/generated/graphql.ts',
  'client/generated/graphql.ts',
  'client/generated/gql.ts',
  'client/generated/index.ts',
  'client/generated/persisted-documents.json',
  'client/generated/persisted-query-manifest.json',
];
const before = new Map(files.map((f) => [f, readFileSync(f, 'utf8')]));
execFileSync('npm', ['run', '--silent', 'codegen'], { stdio: ['ignore', 'ignore', 'inherit'] });
const stale = files.filter((f) => readFileSync(f, 'utf8') !== before.get(f));
if (stale.length > 0) {
  console.error(`Generated files were stale (now regenerated; commit them): ${stale.join(', ')}`);
  process.exit(1);
}
console.log('generated files are up to date');
