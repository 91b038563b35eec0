import type { ArgType } from '@prisma/driver-adapter-utils';
import { sqlParam, type Database } from '../db/database.js';

const STRING: ArgType = { scalarType: 'string', arity: 'scalar' };
const INT: ArgType = { scalarType: 'int', arity: 'scalar' };
const BYTES: ArgType = { scalarType: 'bytes', arity: 'scalar' };

/**
 * Export files' bytes in and out of ExportChunk, straight through the driver adapter Prisma uses.
 * Through the Prisma client every chunk crossed its JSON protocol as base64, both ways, and that
 * was most of an export's memory growth (`npm run bench`). Everything else about chunks (counting,
 * deleting) stays with the Prisma client; these statements do not reach its query log or metrics.
 */
export class ChunkStore {
  private readonly insertSql: string;
  private readonly readSql: string;

  constructor(private readonly db: Database) {
    const p = (n: number) => sqlParam(db.provider, n);
    this.insertSql = `INSERT INTO "ExportChunk" ("exportId", "seq", "data") VALUES (${p(1)}, ${p(2)}, ${p(3)})`;
    this.readSql = `SELECT "data" FROM "ExportChunk" WHERE "exportId" = ${p(1)} AND "seq" >= ${p(2)} ORDER BY "seq" ASC LIMIT ${p(3)}`;
  }

  async insert(exportId: string, seq: number, data: Buffer): Promise<void> {
    await this.db.driver().executeRaw({ sql: this.insertSql, args: [exportId, seq, data], argTypes: [STRING, INT, BYTES] });
  }

  /** Up to `limit` chunks of an export from sequence number `fromSeq` on, in order. */
  async read(exportId: string, fromSeq: number, limit: number): Promise<Uint8Array[]> {
    const result = await this.db.driver().queryRaw({ sql: this.readSql, args: [exportId, fromSeq, limit], argTypes: [STRING, INT, INT] });
    return result.rows.map((row) => row[0] as Uint8Array);
  }
}
