// The password-hashing child process (see passwordHasher.ts): argon2 at a lower CPU priority
// than the server, so a burst of logins cannot take the CPU from requests already signed in.
import fs from 'node:fs';
import os from 'node:os';
import argon2 from 'argon2';
import type { HashReply, HashRequest } from './passwordHasher.js';

/** Nice value of this process's threads: the server's event loop wins a contended core. */
const NICE = 10;

// argon2 runs on libuv's pool threads, which may exist already: lower every thread of this
// process (Linux keeps the nice value per thread; threads started later inherit it).
function lowerPriority(): void {
  let threads: string[] = [];
  try {
    threads = fs.readdirSync('/proc/self/task');
  } catch {
    // no /proc: only this thread
  }
  for (const id of [0, ...threads.map(Number)]) {
    try {
      os.setPriority(id, NICE);
    } catch {
      // a thread that has ended, or a platform without per-thread priorities
    }
  }
}

async function answer(request: HashRequest): Promise<HashReply> {
  try {
    // A stored hash argon2 cannot read verifies as false, as a wrong password does.
    const value =
      request.op === 'hash' ? await argon2.hash(request.password, request.options) : await argon2.verify(request.hash, request.password).catch(() => false);
    return { id: request.id, value };
  } catch (error) {
    return { id: request.id, error: error instanceof Error ? error.message : String(error) };
  }
}

lowerPriority();
process.on('message', (request: HashRequest) => {
  void answer(request).then((reply) => process.send?.(reply));
});
// The server is gone: nothing left to hash for.
process.on('disconnect', () => process.exit(0));
