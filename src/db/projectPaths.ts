import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type SchemaProvider = 'sqlite' | 'postgresql';

let cachedRoot: string | undefined;

/**
 * The project root: the nearest folder above this module holding package.json.
 * Found from import.meta.url (not cwd) so it works from src/ under tsx and from dist/src/ after tsc.
 */
export function projectRoot(): string {
  if (cachedRoot) return cachedRoot;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return (cachedRoot = dir);
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`No package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/** Folder name under prisma/ for each provider. */
export function providerFolder(provider: SchemaProvider): string {
  return provider === 'sqlite' ? 'sqlite' : 'postgres';
}

export function modelsPath(): string {
  return path.join(projectRoot(), 'prisma', 'models.prisma');
}

export function schemaPath(provider: SchemaProvider): string {
  return path.join(projectRoot(), 'prisma', providerFolder(provider), 'schema.prisma');
}

export function migrationsDir(provider: SchemaProvider): string {
  return path.join(projectRoot(), 'prisma', providerFolder(provider), 'migrations');
}
