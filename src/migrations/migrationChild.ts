// The child process of startUpMigrations.ts: applies the migrations of the target it is sent,
// reports the outcome and exits.
import { applyMigrations, type MigrationTarget } from './schemaEngine.js';
import type { MigrationOutcome } from './startUpMigrations.js';

process.once('message', (target: MigrationTarget) => {
  const report = (outcome: MigrationOutcome) => process.send!(outcome, () => process.exit(0));
  applyMigrations(target).then(
    ({ applied }) => report({ applied }),
    (error: unknown) => report({ error: error instanceof Error ? error.message : String(error) }),
  );
});
