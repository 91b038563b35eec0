import { availableParallelism } from 'node:os';
import argon2 from 'argon2';
import pLimit from 'p-limit';
import { PasswordHasher } from './passwordHasher.js';

/** argon2id cost parameters. Changing them rehashes each password at its next login. */
export const PASSWORD_HASH_OPTIONS = {
  type: argon2.argon2id,
  memoryCost: 19_456, // KiB (OWASP's argon2id minimum)
  timeCost: 2,
  parallelism: 1,
} as const;

export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 256;

/**
 * At most this many argon2 calls at once: one core fewer than this process may use (at least one),
 * so a burst of logins leaves a core to the event loop. Where there is no spare core, the hashing
 * process's lower priority (passwordHasher.ts) keeps the event loop ahead of the hashes.
 */
const MAX_CONCURRENT_HASHES = Math.max(1, Math.min(3, availableParallelism() - 1));

const hashing = pLimit(MAX_CONCURRENT_HASHES);
const hasher = new PasswordHasher();

export function hashPassword(password: string): Promise<string> {
  return hashing(() => hasher.hash(password, PASSWORD_HASH_OPTIONS));
}

export function verifyPassword(hash: string, password: string): Promise<boolean> {
  return hashing(() => hasher.verify(hash, password));
}

export function needsRehash(hash: string): boolean {
  return argon2.needsRehash(hash, PASSWORD_HASH_OPTIONS);
}

/**
 * A hash of a random password, verified against when the login names no user, so unknown
 * users and wrong passwords take about the same time.
 */
let dummyHash: Promise<string> | undefined;
export function dummyPasswordHash(): Promise<string> {
  // A failed attempt (the hashing process died meanwhile) is not kept: the next login tries again.
  dummyHash ??= hashPassword(`dummy-${Math.random()}-${Date.now()}`).catch((error: unknown) => {
    dummyHash = undefined;
    throw error;
  });
  return dummyHash;
}
