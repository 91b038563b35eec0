// Migrations for both providers through Prisma's WASM schema engine: the `prisma migrate` CLI needs
// a native engine it would download, which is not possible offline.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { MigrationList, SchemaFilter } from '@prisma/schema-engine-wasm';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import {
  createPgDatabase,
  dropPgDatabase,
  pgMigrationFactory,
  pgUrlWithDatabase,
  sqliteMigrationFactory,
} from './adapterFixes.js';
import { currentSchema, SCHEMA_PROVIDERS } from './prismaSchema.js';
import { migrationsDir, schemaPath, type SchemaProvider } from '../db/projectPaths.js';
import { withSchemaEngine } from './wasmEngine.js';

export type { SchemaProvider } from '../db/projectPaths.js';
import { sqliteFileOf } from '../db/database.js';

export type MigrationTarget = { provider: 'sqlite'; sqlitePath: string } | { provider: 'postgresql'; url: string };

/** The database the server would open for these settings (DATABASE_URL, else the embedded file). */
export function migrationTarget(databaseUrl: string | undefined, dataDir: string): MigrationTarget {
  const sqlitePath = sqliteFileOf(databaseUrl, dataDir);
  return sqlitePath ? { provider: 'sqlite', sqlitePath } : { provider: 'postgresql', url: databaseUrl as string };
}

/** Server used for temporary databases when creating or checking PostgreSQL migrations. */
export const DEFAULT_PG_ADMIN_URL = 'postgresql://postgres@127.0.0.1:5432/postgres';

export function pgAdminUrl(): string {
  return process.env.PG_ADMIN_URL ?? DEFAULT_PG_ADMIN_URL;
}

/**
 * Tables the models do not describe and the engine must leave alone: SQLite's FTS5 search index
 * over reports and the shadow tables FTS5 keeps for it (created, with the triggers that keep it in
 * step, by the report_search migration). The engine cannot model a virtual table; without this,
 * every diff would propose dropping them. Triggers are not compared at all.
 */
const SQLITE_EXTERNAL_TABLES = ['ReportSearch', 'ReportSearch_config', 'ReportSearch_data', 'ReportSearch_docsize', 'ReportSearch_idx'];

function filtersFor(provider: SchemaProvider): SchemaFilter {
  return { externalTables: provider === 'sqlite' ? SQLITE_EXTERNAL_TABLES : [], externalEnums: [] };
}
const LOCKFILE = 'migration_lock.toml';

/** The migrations folder in the shape the engine takes (the same the CLI builds). */
export function readMigrationsList(provider: SchemaProvider): MigrationList {
  const baseDir = migrationsDir(provider);
  const lockPath = path.join(baseDir, LOCKFILE);
  const entries = fs.existsSync(baseDir) ? fs.readdirSync(baseDir, { withFileTypes: true }) : [];
  return {
    baseDir,
    lockfile: { path: LOCKFILE, content: fs.existsSync(lockPath) ? fs.readFileSync(lockPath, 'utf8') : null },
    shadowDbInitScript: '',
    migrationDirectories: entries
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort()
      .map((name) => {
        const file = path.join(baseDir, name, 'migration.sql');
        return {
          path: name,
          migrationFile: {
            path: 'migration.sql',
            content: fs.existsSync(file)
              ? { tag: 'ok' as const, value: fs.readFileSync(file, 'utf8') }
              : { tag: 'error' as const, value: `missing ${file}` },
          },
        };
      }),
  };
}

function datamodel(provider: SchemaProvider): { path: string; content: string } {
  return { path: schemaPath(provider), content: currentSchema(provider) };
}

function factoryFor(target: MigrationTarget): SqlMigrationAwareDriverAdapterFactory {
  return target.provider === 'sqlite' ? sqliteMigrationFactory(target.sqlitePath) : pgMigrationFactory(target.url);
}

/**
 * Applies the pending migrations of prisma/<provider>/migrations, like `prisma migrate deploy`:
 * idempotent, recorded in `_prisma_migrations`.
 */
export async function applyMigrations(target: MigrationTarget): Promise<{ applied: string[] }> {
  if (target.provider === 'sqlite') fs.mkdirSync(path.dirname(path.resolve(target.sqlitePath)), { recursive: true });
  const migrationsList = readMigrationsList(target.provider);
  const out = await withSchemaEngine(datamodel(target.provider), factoryFor(target), (engine) =>
    engine.applyMigrations({ migrationsList, filters: filtersFor(target.provider) }),
  );
  return { applied: out.appliedMigrationNames };
}

/** A scratch database for one engine run: SQLite in a temp folder, PostgreSQL on the admin server. */
async function withScratchTarget<T>(provider: SchemaProvider, fn: (target: MigrationTarget) => Promise<T>): Promise<T> {
  if (provider === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bastion-migrate-'));
    try {
      return await fn({ provider, sqlitePath: path.join(dir, 'scratch.db') });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  const admin = pgAdminUrl();
  const database = `bastion_migrate_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  await createPgDatabase(admin, database);
  try {
    return await fn({ provider, url: pgUrlWithDatabase(admin, database) });
  } finally {
    await dropPgDatabase(admin, database);
  }
}

/** Migration folder timestamp, as the CLI writes it: YYYYMMDDHHMMSS in UTC. */
function migrationTimestamp(date = new Date()): string {
  return date.toISOString().replace(/\D/g, '').slice(0, 14);
}

function lockfileText(connectorType: string): string {
  return `# Please do not edit this file manually\n# It should be added in your version-control system (e.g., Git)\nprovider = "${connectorType}"\n`;
}

export interface CreatedMigration {
  provider: SchemaProvider;
  directory: string;
}

/**
 * Creates a migration named `<timestamp>_<name>` for both providers from the current models, the
 * way `prisma migrate dev --create-only` would: a scratch database gets the existing migrations,
 * then the engine diffs it (through a shadow database) against the models. Writes nothing for a
 * provider whose migrations already cover the models.
 */
export async function createMigration(name: string): Promise<{ created: CreatedMigration[] }> {
  const slug = name.trim().toLowerCase().replace(/[^a-z0-9_]+/g, '_').replace(/^_+|_+$/g, '') || 'change';
  const folder = `${migrationTimestamp()}_${slug}`;
  const created: CreatedMigration[] = [];
  for (const provider of SCHEMA_PROVIDERS) {
    const migrationsList = readMigrationsList(provider);
    const schema = datamodel(provider);
    const result = await withScratchTarget(provider, (target) =>
      withSchemaEngine(schema, factoryFor(target), async (engine) => {
        await engine.applyMigrations({ migrationsList, filters: filtersFor(provider) });
        // Required before createMigration: it sets up the shadow database the diff runs against.
        await engine.devDiagnostic({ migrationsList, filters: filtersFor(provider) });
        return engine.createMigration({
          draft: false,
          migrationName: slug,
          migrationsList,
          schema: { files: [{ path: schema.path, content: schema.content }] },
          filters: filtersFor(provider),
        });
      }),
    );
    if (result.migrationScript === null) continue;
    const dir = path.join(migrationsList.baseDir, folder);
    if (fs.existsSync(dir)) throw new Error(`The migration directory already exists at ${dir}`);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `migration.${result.extension}`), result.migrationScript);
    fs.writeFileSync(path.join(migrationsList.baseDir, LOCKFILE), lockfileText(result.connectorType));
    created.push({ provider, directory: dir });
  }
  return { created };
}

/**
 * Whether models.prisma has changes no migration covers: the engine replays the migrations into a
 * shadow database and diffs that against the models. Touches no real database.
 */
export async function diffMigrationsAgainstModels(provider: SchemaProvider): Promise<{ drift: boolean; sql?: string }> {
  const migrationsList = readMigrationsList(provider);
  const schema = datamodel(provider);
  // The main connection is unused by `diff`; the shadow database lives on the same server.
  const target: MigrationTarget =
    provider === 'sqlite' ? { provider, sqlitePath: ':memory:' } : { provider, url: pgAdminUrl() };
  const result = await withSchemaEngine(schema, factoryFor(target), (engine) =>
    engine.diff({
      from: { tag: 'migrations', ...migrationsList },
      to: { tag: 'schemaDatamodel', files: [{ path: schema.path, content: schema.content }] },
      script: true,
      exitCode: true,
      filters: filtersFor(provider),
    }),
  );
  // exitCode 2 = non-empty diff.
  if (result.exitCode === 2) return { drift: true, sql: result.stdout ?? undefined };
  return { drift: false };
}
