import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Options } from 'argon2';

export type HashRequest =
  | { id: number; op: 'hash'; password: string; options: Options }
  | { id: number; op: 'verify'; hash: string; password: string };
export type HashReply = { id: number; value: string | boolean } | { id: number; error: string };

// From the sources (tests, `npm run dev`) the child is TypeScript and needs tsx; built, it is JS.
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const CHILD = fileURLToPath(new URL(`./hasherProcess.${FROM_SOURCE ? 'ts' : 'js'}`, import.meta.url));

/**
 * argon2 in a child process at a lower CPU priority (hasherProcess.ts). Started on first use and
 * again after a crash; it never keeps the server's process alive, and exits with it.
 */
export class PasswordHasher {
  private child: ChildProcess | undefined;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (value: string | boolean) => void; reject: (error: Error) => void }>();

  hash(password: string, options: Options): Promise<string> {
    return this.call({ id: this.nextId++, op: 'hash', password, options }) as Promise<string>;
  }

  verify(hash: string, password: string): Promise<boolean> {
    return this.call({ id: this.nextId++, op: 'verify', hash, password }) as Promise<boolean>;
  }

  private call(request: HashRequest): Promise<string | boolean> {
    const child = this.start();
    return new Promise((resolve, reject) => {
      this.pending.set(request.id, { resolve, reject });
      // Only a request in flight holds the process open.
      child.channel?.ref();
      child.send(request, (error) => {
        if (error) this.settle(request.id, { id: request.id, error: error.message });
      });
    });
  }

  private start(): ChildProcess {
    if (this.child) return this.child;
    const child = fork(CHILD, [], { execArgv: FROM_SOURCE ? ['--import', 'tsx'] : [], serialization: 'advanced' });
    child.on('message', (reply: HashReply) => this.settle(reply.id, reply));
    child.on('exit', (code, signal) => this.abandon(child, new Error(`password hashing process exited (${signal ?? code})`)));
    // Failing to start or to reach the process: its calls fail; the next call starts a new one.
    child.on('error', (error) => {
      this.abandon(child, error);
      child.kill();
    });
    child.unref();
    child.channel?.unref();
    this.child = child;
    return child;
  }

  private settle(id: number, reply: HashReply): void {
    const waiter = this.pending.get(id);
    if (!waiter) return;
    this.pending.delete(id);
    if (this.pending.size === 0) this.child?.channel?.unref();
    if ('error' in reply) waiter.reject(new Error(`password hashing failed: ${reply.error}`));
    else waiter.resolve(reply.value);
  }

  private abandon(child: ChildProcess, error: Error): void {
    if (this.child !== child) return;
    this.child = undefined;
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }
}
