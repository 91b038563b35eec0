import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { version as graphqlVersion } from 'graphql';
import type { Database } from '../db/database.js';
import { projectRoot } from '../db/projectPaths.js';
import { withTimeout } from '../kernel/withTimeout.js';

const require = createRequire(import.meta.url);

let cachedAppVersion: string | undefined;

/** This server's version, from package.json. */
export function appVersion(): string {
  cachedAppVersion ??= (JSON.parse(readFileSync(path.join(projectRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  return cachedAppVersion;
}

export interface VersionInfo {
  name: string;
  version: string;
}

/** The database server's own version, asked in its dialect. */
async function databaseVersion(db: Database): Promise<string> {
  const sql = db.provider === 'sqlite' ? 'SELECT sqlite_version() AS version' : "SELECT current_setting('server_version') AS version";
  const rows = await db.prisma.$queryRawUnsafe<Array<{ version: string }>>(sql);
  return String(rows[0]?.version ?? 'unknown');
}

/** App, runtime, library and database server versions. */
export async function versions(db: Database): Promise<VersionInfo[]> {
  const database = await withTimeout(databaseVersion(db)).catch(() => 'unavailable');
  return [
    { name: 'bastion', version: appVersion() },
    { name: 'node', version: process.versions.node },
    { name: 'graphql', version: graphqlVersion },
    { name: 'prisma', version: (require('@prisma/client/package.json') as { version: string }).version },
    { name: db.provider, version: database },
  ];
}
