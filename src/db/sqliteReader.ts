// Long reads on SQLite off the event loop. better-sqlite3 runs every statement synchronously on the
// thread that calls it, so one expensive search would stall every other request of the process.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * The worker: its own read-only connection to the same file (WAL lets it read while the main
 * connection writes), one statement at a time, rows posted back. Source text rather than a file
 * so it runs the same from src/ (tsx, vitest) and from dist/.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { readonly: true, fileMustExist: true, timeout: workerData.busyTimeoutMs });
const statements = new Map();
parentPort.on('message', ({ id, sql, args }) => {
  try {
    let statement = statements.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      if (statements.size < 100) statements.set(sql, statement);
    }
    parentPort.postMessage({ id, rows: statement.all(...args) });
  } catch (error) {
    parentPort.postMessage({ id, error: String(error && error.message || error) });
  }
});
`;

/** How a DateTime is stored on SQLite (the adapter's iso8601 format): `…T12:34:56.789+00:00`. */
function sqliteArg(value: unknown): unknown {
  return value instanceof Date ? value.toISOString().replace(/Z$/, '+00:00') : value;
}

interface Pending {
  resolve: (rows: unknown[]) => void;
  reject: (error: Error) => void;
}

export class SqliteReader {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private next = 0;
  private stopped: Error | undefined;

  constructor(file: string, busyTimeoutMs: number) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, driver, busyTimeoutMs } });
    this.worker.unref(); // an idle reader never keeps the process alive; a busy one does (query)
    this.worker.on('message', (message: { id: number; rows?: unknown[]; error?: string }) => {
      const waiting = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (this.pending.size === 0) this.worker.unref();
      if (message.error !== undefined) waiting?.reject(new Error(message.error));
      else waiting?.resolve(message.rows ?? []);
    });
    this.worker.on('error', (error) => this.failAll(error));
    this.worker.on('exit', () => this.failAll(new Error('the SQLite reader stopped')));
  }

  /** One read-only statement with `?` parameters; Dates are passed in the stored text format. */
  query<T>(sql: string, args: readonly unknown[]): Promise<T[]> {
    if (this.stopped) return Promise.reject(this.stopped);
    const id = this.next++;
    return new Promise<T[]>((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve: resolve as (rows: unknown[]) => void, reject });
      this.worker.postMessage({ id, sql, args: args.map(sqliteArg) });
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }

  private failAll(error: Error): void {
    this.stopped ??= error;
    for (const waiting of this.pending.values()) waiting.reject(error);
    this.pending.clear();
  }
}
