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
  timer: NodeJS.Timeout;
}

export interface SqliteReaderOptions {
  file: string;
  /** How long to wait for a lock. */
  busyTimeoutMs: number;
  /**
   * How long a statement may take, waiting included. SQLite has no statement timeout and
   * better-sqlite3 cannot interrupt one, so past it the worker is ended and a fresh one started.
   */
  statementTimeoutMs: number;
}

export class SqliteReader {
  /** Started by the first query: a worker is a V8 isolate of its own (~10 MB) that idle servers need not hold. */
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private next = 0;
  private closed = false;
  /** The worker died on its own (it should not): the next query starts a fresh one. */
  private broken = false;
  private readonly driver = createRequire(import.meta.url).resolve('better-sqlite3');

  constructor(private readonly options: SqliteReaderOptions) {}

  /** One read-only statement with `?` parameters; Dates are passed in the stored text format. */
  query<T>(sql: string, args: readonly unknown[]): Promise<T[]> {
    if (this.closed) return Promise.reject(new Error('the SQLite reader is closed'));
    const worker = !this.worker || this.broken ? this.start() : this.worker;
    const id = this.next++;
    return new Promise<T[]>((resolve, reject) => {
      if (this.pending.size === 0) worker.ref();
      const timer = setTimeout(() => this.restart(new Error(`statement timeout: no answer within ${this.options.statementTimeoutMs} ms`)), this.options.statementTimeoutMs);
      this.pending.set(id, { resolve: resolve as (rows: unknown[]) => void, reject, timer });
      worker.postMessage({ id, sql, args: args.map(sqliteArg) });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.failAll(new Error('the SQLite reader is closed'));
    await this.worker?.terminate();
  }

  private start(): Worker {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { file: this.options.file, driver: this.driver, busyTimeoutMs: this.options.busyTimeoutMs },
    });
    worker.unref(); // an idle reader never keeps the process alive; a busy one does (query)
    worker.on('message', (message: { id: number; rows?: unknown[]; error?: string }) => {
      const waiting = this.pending.get(message.id);
      if (!waiting) return;
      this.pending.delete(message.id);
      clearTimeout(waiting.timer);
      if (this.pending.size === 0) worker.unref();
      if (message.error !== undefined) waiting.reject(new Error(message.error));
      else waiting.resolve(message.rows ?? []);
    });
    // A worker that dies on its own fails what it held and is replaced on the next query (not at
    // once: one that cannot even start would otherwise be restarted in a loop).
    const died = (error: Error) => {
      if (worker !== this.worker || this.closed) return;
      this.broken = true;
      this.failAll(error);
    };
    worker.on('error', died);
    worker.on('exit', () => died(new Error('the SQLite reader stopped')));
    this.worker = worker;
    this.broken = false;
    return worker;
  }

  /** Ends the current worker (and the statement it runs), fails every waiting query, starts afresh. */
  private restart(error: Error): void {
    const old = this.worker;
    this.failAll(error);
    if (!this.closed) this.start();
    void old?.terminate();
  }

  private failAll(error: Error): void {
    for (const waiting of this.pending.values()) {
      clearTimeout(waiting.timer);
      waiting.reject(error);
    }
    this.pending.clear();
  }
}
