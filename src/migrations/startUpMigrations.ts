// Start-up migrations in a child process. Prisma's WASM schema engine leaves tens of MB resident in
// the process that instantiated it (V8 keeps the compiled module and the WASM heap it grew); run in
// a child, it never enters the server's own process.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { applyMigrations, type MigrationTarget } from './schemaEngine.js';

/** What the child reports before it exits. */
export type MigrationOutcome = { applied: string[] } | { error: string };

const CHILD_ENTRY = fileURLToPath(new URL('./migrationChild.js', import.meta.url));

/** Applies pending migrations as applyMigrations does; from the build, in a short-lived child process. */
export async function applyMigrationsAtStartUp(target: MigrationTarget): Promise<{ applied: string[] }> {
  // Run from sources (tsx, vitest), there is no JavaScript entry a bare `node` child could load.
  if (!import.meta.url.endsWith('.js')) return applyMigrations(target);
  const outcome = await new Promise<MigrationOutcome>((resolve, reject) => {
    // No inherited execArgv: the parent's flags (inspector, loaders) are not the child's business.
    const child = fork(CHILD_ENTRY, [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let reported: MigrationOutcome | undefined;
    child.once('message', (message) => (reported = message as MigrationOutcome));
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      reported ? resolve(reported) : reject(new Error(`the migration process ended (${signal ?? `exit code ${code}`}) without a result`)),
    );
    child.send(target);
  });
  if ('error' in outcome) throw new Error(outcome.error);
  return outcome;
}
