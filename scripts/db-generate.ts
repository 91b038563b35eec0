// Generates both Prisma clients offline: the CLI would otherwise try to download a native schema
// engine; generation itself only needs the WASM engines shipped in the npm package.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { SCHEMA_PROVIDERS } from '../src/migrations/prismaSchema.js';
import { projectRoot, schemaPath } from '../src/db/projectPaths.js';

const root = projectRoot();
const prismaBin = path.join(root, 'node_modules', 'prisma', 'build', 'index.js');

for (const provider of SCHEMA_PROVIDERS) {
  const schema = path.relative(root, schemaPath(provider));
  const result = spawnSync(process.execPath, [prismaBin, 'generate', '--schema', schema], {
    cwd: root,
    stdio: 'inherit',
    env: {
      ...process.env,
      PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? '/bin/false',
      PRISMA_HIDE_UPDATE_MESSAGE: '1',
      CHECKPOINT_DISABLE: '1',
    },
  });
  if (result.status !== 0) {
    console.error(`prisma generate failed for ${schema}`);
    process.exit(result.status ?? 1);
  }
}
