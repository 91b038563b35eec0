// Starting the servers under test as separate processes, pinned to one core when taskset exists,
// and reading their memory from /proc.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const HAS_TASKSET = spawnSync('taskset', ['-V']).status === 0;
/** The server gets core 1, the load generator (this process) core 0. */
export const SERVER_CORE = '1';

export interface RunningServer {
  name: string;
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** Spawns `node <args>` and waits for a JSON log line with "msg":"listening". */
export async function startProcess(name: string, args: string[], env: Record<string, string>, port: number): Promise<RunningServer> {
  const command = HAS_TASKSET ? 'taskset' : process.execPath;
  const argv = HAS_TASKSET ? ['-c', SERVER_CORE, process.execPath, ...args] : args;
  const child = spawn(command, argv, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const started = Date.now();
  while (!output.includes('"msg":"listening"')) {
    if (child.exitCode !== null) throw new Error(`${name} exited:\n${output}`);
    if (Date.now() - started > 60_000) {
      child.kill('SIGKILL');
      throw new Error(`${name} did not start:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    name,
    url: `http://127.0.0.1:${port}`,
    child,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Resident set size of a process now, and its peak so far, in bytes (Linux /proc). */
export function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
  return { rss: kib('VmRSS'), peak: kib('VmHWM') };
}

/** Samples RSS every 20 ms until stopped; returns the highest value seen. */
export function sampleRss(pid: number): () => number {
  let highest = memoryOf(pid).rss;
  const timer = setInterval(() => {
    try {
      highest = Math.max(highest, memoryOf(pid).rss);
    } catch {
      // the process ended
    }
  }, 20);
  return () => {
    clearInterval(timer);
    return highest;
  };
}

/** The load generator's own core: pin this process to core 0 when possible. */
export function pinSelf(): void {
  if (HAS_TASKSET) spawnSync('taskset', ['-p', '-c', '0', String(process.pid)]);
}

export function machineDescription(): string {
  const cpus = (() => {
    try {
      return /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown CPU';
    } catch {
      return 'unknown CPU';
    }
  })();
  return `${cpus}; ${HAS_TASKSET ? 'server pinned to core 1, load generator on core 0' : 'no taskset: not pinned'}`;
}
