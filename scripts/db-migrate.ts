// Applies pending migrations to DATABASE_URL, or to $DATA_DIR/bastion.db (./data) when it is unset.
import path from 'node:path';
import { providerOf, sqliteFileFromUrl } from '../src/db/database.js';
import { applyMigrations, type MigrationTarget } from '../src/db/schemaEngine.js';

function targetFromEnv(): MigrationTarget {
  const url = process.env.DATABASE_URL || undefined;
  if (url && providerOf(url) === 'postgresql') return { provider: 'postgresql', url };
  return { provider: 'sqlite', sqlitePath: url ? sqliteFileFromUrl(url) : path.resolve(process.env.DATA_DIR || 'data', 'bastion.db') };
}

const started = Date.now();
try {
  const target = targetFromEnv();
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
