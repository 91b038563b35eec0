import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PasswordHasher } from '../../src/identity/passwordHasher.js';
import { PASSWORD_HASH_OPTIONS, dummyPasswordHash, hashPassword } from '../../src/identity/passwords.js';

/** This process's children running the hashing process, by pid (Linux /proc). */
function hasherChildren(): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        return ppid === process.pid && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('hasherProcess');
      } catch {
        return false; // ended meanwhile
      }
    })
    .map(Number);
}

/** The nice value of every thread of a process (field 19 of /proc/<pid>/task/<tid>/stat). */
function threadNiceness(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  });
}

describe('password hasher process', () => {
  it('hashes and verifies with argon2id in a child whose every thread yields the CPU to the server', async () => {
    const hasher = new PasswordHasher();
    const hash = await hasher.hash('correct horse battery staple', PASSWORD_HASH_OPTIONS);
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await hasher.verify(hash, 'correct horse battery staple')).toBe(true);
    expect(await hasher.verify(hash, 'correct horse battery stapler')).toBe(false);
    // A stored value argon2 cannot read is a failed verification, not an error.
    expect(await hasher.verify('not-an-argon2-hash', 'anything')).toBe(false);

    const [child] = hasherChildren();
    expect(child).toBeDefined();
    const niceness = threadNiceness(child!);
    expect(niceness.length).toBeGreaterThan(1);
    expect(new Set(niceness)).toEqual(new Set([10]));
  }, 30_000);

  it('fails the calls in flight when the process dies, and starts a new one for the next', async () => {
    const hasher = new PasswordHasher();
    await hasher.hash('first password here', PASSWORD_HASH_OPTIONS);
    const before = new Set(hasherChildren());
    const inFlight = hasher.hash('second password here', PASSWORD_HASH_OPTIONS);
    for (const pid of before) process.kill(pid, 'SIGKILL');
    await expect(inFlight).rejects.toThrow(/password hashing (process exited|failed)/);
    const hash = await hasher.hash('third password here', PASSWORD_HASH_OPTIONS);
    expect(await hasher.verify(hash, 'third password here')).toBe(true);
    expect(hasherChildren().filter((pid) => !before.has(pid))).toHaveLength(1);
  }, 30_000);

  it('does not keep a dummy hash that failed: the next unknown-user login gets a new one', async () => {
    await hashPassword('warm up the shared hashing process');
    // Find the process before asking for the hash: scanning /proc on a busy machine can take longer
    // than the hash itself, which then arrives before the kill (seen on a loaded CI leg).
    const children = hasherChildren();
    const first = dummyPasswordHash();
    for (const pid of children) process.kill(pid, 'SIGKILL');
    await expect(first).rejects.toThrow(/password hashing (process exited|failed)/);
    expect(await dummyPasswordHash()).toMatch(/^\$argon2id\$/);
  }, 30_000);
});
