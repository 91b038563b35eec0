// Creates a new migration for both providers from prisma/models.prisma.
// Usage: npm run db:migration:new -- <name>   (default name: "change")
import { writeSchemas } from './db-schemas.js';
import { createMigration } from '../src/migrations/schemaEngine.js';

const name = process.argv[2] ?? 'change';
const started = Date.now();
try {
  for (const file of writeSchemas()) console.log(`updated ${file} (run npm run db:generate)`);
  const { created } = await createMigration(name);
  if (created.length === 0) {
    console.log('No changes: the migrations already cover prisma/models.prisma. Nothing written.');
  } else {
    for (const m of created) console.log(`${m.provider}: wrote ${m.directory}`);
  }
  console.log(`done in ${Date.now() - started} ms`);
  // The engine leaves timers pending on PostgreSQL: exit explicitly.
  process.exit(0);
} catch (error) {
  console.error(error);
  process.exit(1);
}
