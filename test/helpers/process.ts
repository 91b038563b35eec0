import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
  exit: Promise<number | null>;
}

const FROM_SOURCE = ['--import', 'tsx', 'src/main.ts'];

/**
 * Runs the server as a real process: `node --import tsx src/main.ts` by default, or any command
 * (e.g. `['npm', 'start']`, as README says).
 */
export function spawnServer(
  env: Record<string, string>,
  command: string[] = [process.execPath, ...FROM_SOURCE],
): { child: ChildProcess; output: () => string; exit: Promise<number | null> } {
  const child = spawn(command[0]!, command.slice(1), {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exit };
}

/** Starts the server process and waits for its `"msg":"listening"` line. */
export async function startServerProcess(env: Record<string, string>, timeoutMs = 30_000, command?: string[]): Promise<ServerProcess> {
  // The "listening" line is logged at info level: at least info (debug and trace include it).
  const level = env.LOG_LEVEL === 'debug' || env.LOG_LEVEL === 'trace' ? env.LOG_LEVEL : 'info';
  const proc = spawnServer({ ...env, LOG_LEVEL: level }, command);
  const started = Date.now();
  for (;;) {
    const line = proc.output().split('\n').find((l) => l.includes('"msg":"listening"'));
    if (line) {
      const url = (JSON.parse(line) as { url: string }).url.replace(/\/graphql$/, '');
      return { ...proc, url };
    }
    if (proc.child.exitCode !== null) throw new Error(`server exited early:\n${proc.output()}`);
    if (Date.now() - started > timeoutMs) {
      proc.child.kill('SIGKILL');
      throw new Error(`server did not start:\n${proc.output()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
