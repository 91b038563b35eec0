// Applies pending migrations to DATABASE_URL, or to $DATA_DIR/bastion.db (./data) when it is unset.
import { applyMigrations, migrationTarget } from '../src/migrations/schemaEngine.js';

const started = Date.now();
try {
  const target = migrationTarget(process.env.DATABASE_URL || undefined, process.env.DATA_DIR || 'data');
  const where = target.provider === 'sqlite' ? target.sqlitePath : 'PostgreSQL';
  const { applied } = await applyMigrations(target);
  console.log(
    applied.length ? `applied to ${where}: ${applied.join(', ')}` : `${where} is up to date: no pending migrations`,
    `(${Date.now() - started} ms)`,
  );
  // Exit explicitly: nothing left to wait for (pools and engine timers are done).
  process.exit(0);
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
