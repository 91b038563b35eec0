// Writes prisma/sqlite/schema.prisma and prisma/postgres/schema.prisma from prisma/models.prisma.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { SCHEMA_PROVIDERS, currentSchema } from '../src/migrations/prismaSchema.js';
import { schemaPath } from '../src/db/projectPaths.js';

export { renderSchema, currentSchema } from '../src/migrations/prismaSchema.js';

/** Writes both provider schemas; returns the paths that changed. */
export function writeSchemas(): string[] {
  const changed: string[] = [];
  for (const provider of SCHEMA_PROVIDERS) {
    const file = schemaPath(provider);
    const text = currentSchema(provider);
    if (fs.existsSync(file) && fs.readFileSync(file, 'utf8') === text) continue;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
    changed.push(file);
  }
  return changed;
}

// Run only when executed directly, so tests can import renderSchema without writing files.
if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const changed = writeSchemas();
  console.log(changed.length ? `wrote ${changed.join(', ')}` : 'provider schemas already up to date');
}
