import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * The audit log's last resort on local disk: rows the database could not take (the in-memory
 * backlog was full, or the server stopped during an outage) are written here as NDJSON and
 * replayed into the database at the next start. Each spill is one file, written under a temporary
 * name, flushed to disk and then renamed, so a reader never sees half a file.
 */
export class AuditSpillFile {
  constructor(private readonly dir: string) {}

  /** Writes `rows` durably; returns the file's path. */
  write(rows: readonly unknown[]): string {
    fs.mkdirSync(this.dir, { recursive: true });
    const name = `${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}-${randomUUID().slice(0, 8)}`;
    const temporary = path.join(this.dir, `${name}.tmp`);
    const final = path.join(this.dir, `${name}.ndjson`);
    const fd = fs.openSync(temporary, 'wx');
    try {
      fs.writeSync(fd, rows.map((row) => JSON.stringify(row)).join('\n') + '\n');
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temporary, final);
    return final;
  }

  /** Spilled files, oldest first. */
  files(): string[] {
    if (!fs.existsSync(this.dir)) return [];
    return fs
      .readdirSync(this.dir)
      .filter((name) => name.endsWith('.ndjson'))
      .sort()
      .map((name) => path.join(this.dir, name));
  }

  read(file: string): unknown[] {
    return fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as unknown);
  }

  remove(file: string): void {
    fs.rmSync(file, { force: true });
  }
}
