import argon2 from 'argon2';
import Database from 'better-sqlite3';
import { allow, chain, deny, race } from 'graphql-shield';
import { describe, expect, it } from 'vitest';

/**
 * The dependencies that depend on the Node.js version, checked on whichever version runs the suite
 * (CI runs it on every version in .ci/node-versions): native addons load and work, and
 * graphql-shield's patched logic rules run where `util.isUndefined` no longer exists (Node 23+).
 * Prisma's WASM schema engine is exercised by test/db/migrations.test.ts on the same legs.
 */
describe(`dependencies on Node ${process.version}`, () => {
  it('argon2 loads its prebuilt Node-API binary and hashes', async () => {
    const hash = await argon2.hash('correct-horse-battery');
    expect(await argon2.verify(hash, 'correct-horse-battery')).toBe(true);
    expect(await argon2.verify(hash, 'wrong-horse-battery')).toBe(false);
  });

  it('better-sqlite3 is built for this runtime', () => {
    const db = new Database(':memory:');
    try {
      expect(db.prepare('select 1 + 1 as two').get()).toEqual({ two: 2 });
    } finally {
      db.close();
    }
  });

  it("graphql-shield's chain and race rules evaluate (patches/graphql-shield+7.6.5.patch)", async () => {
    const resolve = (r: ReturnType<typeof chain>) => r.resolve({}, {}, { _shield: { cache: {} } }, undefined as never, undefined as never);
    await expect(resolve(chain(allow, allow))).resolves.toBe(true);
    await expect(resolve(chain(allow, deny))).resolves.toBe(false);
    await expect(resolve(race(deny, allow))).resolves.toBe(true);
    await expect(resolve(race(deny, deny))).resolves.toBe(false);
  });
});
