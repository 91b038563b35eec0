import type { Database } from '../db/database.js';
import { NEWEST_FIRST, afterCursor, type Cursor } from '../kernel/pagination.js';
import { reportCondition, reportIdsSql, runReportSql, type ReportFilter } from '../reports/filter.js';
import { readData, UnreadableData } from '../reports/validation.js';
import type { ExportRow } from './formats.js';

/** Rows per database round trip: memory holds one batch, whatever the export's size. */
export const BATCH_SIZE = 1000;

/** An export's rows, newest first, read in keyset batches; `columns` fixes the CSV header order. */
export interface RowSource {
  columns: readonly string[];
  batches(): AsyncGenerator<ExportRow[]>;
}

/** What a REPORTS export was created with: the caller's filter and the author they were limited to. */
export interface ReportsScope {
  filter: ReportFilter | null;
  /** Null when the creator could read everyone's reports (ANALYST, ADMIN). */
  author: string | null;
}

/** Keyset pagination over (createdAt, id): stable while rows are added or removed meanwhile. */
async function* keysetBatches<T extends Cursor>(fetch: (after: ReturnType<typeof afterCursor>) => Promise<T[]>): AsyncGenerator<T[]> {
  let cursor: Cursor | undefined;
  for (;;) {
    const rows = await fetch(afterCursor(cursor));
    if (rows.length > 0) yield rows;
    if (rows.length < BATCH_SIZE) return;
    cursor = rows.at(-1);
  }
}

const REPORT_COLUMNS = ['id', 'title', 'status', 'tags', 'authorId', 'createdAt', 'updatedAt', 'body', 'data'] as const;
/** What a report row is read with: not searchText, a second copy of title and body. */
const REPORT_SELECT = { id: true, title: true, status: true, tagsJson: true, authorId: true, createdAt: true, updatedAt: true, body: true, dataJson: true } as const;

/** A report's data for an export; stored data past the bounds goes out as its text, so one bad row cannot fail the file. */
function exportedData(dataJson: string | null): unknown {
  try {
    return readData(dataJson);
  } catch (error) {
    if (error instanceof UnreadableData) return dataJson;
    throw error;
  }
}

/** Ids per look-up by id: below SQLite's bound-parameter limit. */
const ID_SLICE = 250;

export function reportsSource(db: Database, scope: ReportsScope): RowSource {
  /** Loads reports by id in slices that stay under the driver's bound-parameter limit. */
  async function rowsOf(ids: string[]) {
    const rows = [];
    for (let i = 0; i < ids.length; i += ID_SLICE) {
      const slice = ids.slice(i, i + ID_SLICE);
      rows.push(...(await db.prisma.report.findMany({ where: { id: { in: slice } }, orderBy: NEWEST_FIRST, select: REPORT_SELECT })));
    }
    return rows;
  }
  return {
    columns: REPORT_COLUMNS,
    // Keyset batches as above, but the filter (full-text search included) is raw SQL that yields
    // ids; the next batch starts after the last id found, even if its row was deleted meanwhile.
    async *batches() {
      let cursor: Cursor | undefined;
      for (;;) {
        const page = reportIdsSql(reportCondition(scope.filter, scope.author, db.provider, cursor), db.provider, BATCH_SIZE);
        const found = await runReportSql<{ id: string; createdAt: Date | string }>(db, page);
        const rows = await rowsOf(found.map((row) => row.id));
        if (rows.length > 0) {
          yield rows.map((r) => ({
            id: r.id,
            title: r.title,
            status: r.status,
            tags: JSON.parse(r.tagsJson) as unknown,
            authorId: r.authorId,
            createdAt: r.createdAt.toISOString(),
            updatedAt: r.updatedAt.toISOString(),
            body: r.body,
            data: exportedData(r.dataJson),
          }));
        }
        const last = found.at(-1);
        if (found.length < BATCH_SIZE || !last) return;
        cursor = { id: last.id, createdAt: new Date(last.createdAt) };
      }
    },
  };
}

const AUDIT_COLUMNS = ['id', 'createdAt', 'action', 'outcome', 'actorId', 'targetType', 'targetId', 'ip', 'requestId', 'count', 'detail'] as const;

export function auditSource(db: Database): RowSource {
  return {
    columns: AUDIT_COLUMNS,
    async *batches() {
      for await (const rows of keysetBatches((after) =>
        db.prisma.auditEvent.findMany({ where: after, orderBy: NEWEST_FIRST, take: BATCH_SIZE }),
      )) {
        yield rows.map((e) => ({
          id: e.id,
          createdAt: e.createdAt.toISOString(),
          action: e.action,
          outcome: e.outcome,
          actorId: e.actorId,
          targetType: e.targetType,
          targetId: e.targetId,
          ip: e.ip,
          requestId: e.requestId,
          count: e.count,
          detail: e.detail === null ? null : (JSON.parse(e.detail) as unknown),
        }));
      }
    },
  };
}
