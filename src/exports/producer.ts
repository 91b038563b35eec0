import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Database } from '../db/database.js';
import type { Export } from '../db/models.js';
import { ChunkSink } from './chunkSink.js';
import { ChunkStore } from './chunkStore.js';
import { formatWriter, type ExportFormat } from './formats.js';
import { auditSource, reportsSource, type ReportsScope, type RowSource } from './sources.js';

/** The run stopped on purpose (shutdown, lease lost): the export stays PENDING for another run. */
export class ExportInterrupted extends Error {
  constructor() {
    super('export interrupted');
  }
}

function sourceOf(db: Database, row: Export): RowSource {
  if (row.kind === 'AUDIT_LOG') return auditSource(db);
  if (row.kind === 'REPORTS') return reportsSource(db, JSON.parse(row.filterJson ?? 'null') as ReportsScope);
  throw new Error(`unknown export kind ${row.kind}`);
}

/**
 * Writes an export's file into its ExportChunk rows, streaming the rows from the database batch by
 * batch. `keepGoing` is asked after every batch; false stops the run with ExportInterrupted.
 */
export async function produceExport(db: Database, row: Export, keepGoing: () => Promise<boolean>): Promise<{ rowCount: number; byteCount: number }> {
  const source = sourceOf(db, row);
  const writer = formatWriter(row.format as ExportFormat, source.columns);
  const sink = new ChunkSink(new ChunkStore(db), row.id);
  let rowCount = 0;
  await sink.write(writer.start());
  for await (const batch of source.batches()) {
    for (const item of batch) await sink.write(writer.row(item, rowCount++));
    if (!(await keepGoing())) throw new ExportInterrupted();
    // SQLite answers synchronously under its promises: without this turn the whole export would run
    // as one chain of microtasks, holding up every other request (and the GC's idle work) until done.
    await nextTurn();
  }
  await sink.write(writer.end());
  await sink.end();
  return { rowCount, byteCount: sink.bytes };
}
