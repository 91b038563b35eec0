import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Sqlite from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteReader } from '../../src/db/sqliteReader.js';

// A statement that runs for many seconds: counting to a billion.
const ENDLESS = 'WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 1000000000) SELECT count(*) AS n FROM c';

describe('SqliteReader: long reads in a worker thread', () => {
  let dir: string;
  let reader: SqliteReader;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bastion-reader-'));
    const file = path.join(dir, 'db.sqlite');
    const db = new Sqlite(file);
    db.exec('CREATE TABLE t (x INTEGER, at TEXT); INSERT INTO t VALUES (1, NULL), (2, NULL), (3, NULL);');
    db.close();
    reader = new SqliteReader({ file, busyTimeoutMs: 1000, statementTimeoutMs: 500 });
  });
  afterAll(async () => {
    await reader.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers statements with parameters, Dates in the stored text format', async () => {
    expect(await reader.query('SELECT x FROM t WHERE x > ? ORDER BY x', [1])).toEqual([{ x: 2 }, { x: 3 }]);
    expect(await reader.query('SELECT ? AS d', [new Date(0)])).toEqual([{ d: '1970-01-01T00:00:00.000+00:00' }]);
  });

  it('is read-only', async () => {
    await expect(reader.query('DELETE FROM t RETURNING x', [])).rejects.toThrow(/readonly/);
  });

  it('keeps the event loop free while a statement runs, ends it at the timeout, and answers again after', async () => {
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 10);
    try {
      await expect(reader.query(ENDLESS, [])).rejects.toThrow(/statement timeout/);
    } finally {
      clearInterval(ticker);
    }
    expect(ticks).toBeGreaterThan(5); // timers kept firing meanwhile
    expect(await reader.query('SELECT count(*) AS n FROM t', [])).toEqual([{ n: 3 }]);
  });

  it('fails a bad statement alone', async () => {
    await expect(reader.query('SELECT nope FROM t', [])).rejects.toThrow(/no such column/);
    expect(await reader.query('SELECT 1 AS one', [])).toEqual([{ one: 1 }]);
  });
});
