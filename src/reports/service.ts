import { randomUUID } from 'node:crypto';
import { sqlParam, type Database } from '../db/database.js';
import { isRecordNotFound } from '../db/errors.js';
import { ErrorCode, OwnershipDenied, notFound, notYours } from '../errors.js';
import type { Report } from '../db/models.js';
import type { Viewer } from '../kernel/requestIdentity.js';
import { decodeCursor, pageSize, toConnection, type Connection } from '../kernel/pagination.js';
import { readableAuthor, reportCondition, reportCountSql, reportOfRow, reportPageSql, runReportSql, type ReportFilter } from './filter.js';
import { searchTextOf, serializeData, validateBody, validateTags, validateTitle } from './validation.js';

export interface ReportInput {
  title?: string | null;
  body?: string | null;
  status?: string | null;
  tags?: readonly string[] | null;
  data?: unknown;
}

/**
 * The columns that hold a tag list: as given, and lower-cased. The database keeps the ReportTag
 * rows (the case-insensitive tag filter) in step with the keys by trigger, so a report and its
 * tags are written in one statement, with no transaction around it.
 */
function tagColumns(tags: readonly string[]) {
  return { tagsJson: JSON.stringify(tags), tagKeysJson: JSON.stringify(tags.map((tag) => tag.toLowerCase())) };
}

/**
 * Reports and their ownership rules: a USER reads and changes only their own (anyone else's reads
 * as NOT_FOUND); ANALYST and ADMIN read all; only the author or an ADMIN changes one.
 */
export class ReportsService {
  constructor(private readonly db: Database) {}

  private get prisma() {
    return this.db.prisma;
  }

  /** `withCount`: whether `totalCount` was asked for (counting every match is the costly part of a page). */
  async list(
    viewer: Viewer,
    first: number | null | undefined,
    after: string | null | undefined,
    filter: ReportFilter | null | undefined,
    withCount = true,
  ): Promise<Connection<Report>> {
    const size = pageSize(first);
    const cursor = decodeCursor(after);
    const { provider } = this.db;
    const author = readableAuthor(viewer);
    // The filter (full-text search included) is defined once, in filter.ts; the page is one statement.
    const page = reportPageSql(reportCondition(filter, author, provider, cursor), provider, size + 1);
    const [rows, counted] = await Promise.all([
      runReportSql<Parameters<typeof reportOfRow>[0]>(this.db, page),
      withCount ? runReportSql<{ n: number | bigint }>(this.db, reportCountSql(reportCondition(filter, author, provider))) : undefined,
    ]);
    return toConnection(rows.map(reportOfRow), size, counted && Number(counted[0]?.n ?? 0));
  }

  /** A report the viewer may read; missing and unreadable look the same (NOT_FOUND). */
  async get(viewer: Viewer, id: string): Promise<Report> {
    const report = await this.prisma.report.findUnique({ where: { id } });
    const author = readableAuthor(viewer);
    if (!report) throw notFound('report');
    if (author !== null && report.authorId !== author) throw notYours('Report', id);
    return report;
  }

  async create(viewer: Viewer, input: ReportInput & { title: string }): Promise<Report> {
    const title = validateTitle(input.title);
    const body = validateBody(input.body ?? '');
    const tags = validateTags(input.tags ?? []);
    const now = new Date();
    const row = {
      id: randomUUID(),
      authorId: viewer.id,
      title,
      body,
      searchText: searchTextOf(title, body),
      status: input.status ?? 'DRAFT',
      ...tagColumns(tags),
      dataJson: serializeData(input.data),
      createdAt: now,
      updatedAt: now,
    };
    // The hottest write, as one raw statement: Prisma's model API costs as much CPU again as the
    // insert itself (measured in BENCHMARKS.md's CreateReport rows).
    const columns = Object.keys(row);
    const placeholders = columns.map((_, i) => sqlParam(this.db.provider, i + 1)).join(', ');
    const [created] = await this.prisma.$queryRawUnsafe<Array<Parameters<typeof reportOfRow>[0]>>(
      `INSERT INTO "Report" (${columns.map((column) => `"${column}"`).join(', ')}) VALUES (${placeholders}) RETURNING *`,
      ...Object.values(row),
    );
    return reportOfRow(created!);
  }

  /** Only the fields given change; `data: null` clears the data. */
  async update(viewer: Viewer, id: string, input: ReportInput): Promise<Report> {
    const current = await this.writable(viewer, id);
    const title = input.title != null ? validateTitle(input.title) : current.title;
    const body = input.body != null ? validateBody(input.body) : current.body;
    const tags = input.tags != null ? validateTags(input.tags) : undefined;
    try {
      return await this.prisma.report.update({
        where: { id },
        data: {
          title,
          body,
          searchText: searchTextOf(title, body),
          ...(input.status != null ? { status: input.status } : {}),
          ...(input.data !== undefined ? { dataJson: serializeData(input.data) } : {}),
          ...(tags ? tagColumns(tags) : {}),
        },
      });
    } catch (error) {
      if (isRecordNotFound(error)) throw notFound('report'); // deleted meanwhile
      throw error;
    }
  }

  async delete(viewer: Viewer, id: string): Promise<boolean> {
    await this.writable(viewer, id);
    const { count } = await this.prisma.report.deleteMany({ where: { id } });
    if (count === 0) throw notFound('report');
    return true;
  }

  /**
   * The report if the viewer may change it. A reader who is neither the author nor an ADMIN (an
   * ANALYST) gets FORBIDDEN: they can see the report, so NOT_FOUND would hide nothing.
   */
  private async writable(viewer: Viewer, id: string): Promise<Report> {
    const report = await this.get(viewer, id);
    if (report.authorId !== viewer.id && viewer.role !== 'ADMIN') {
      throw new OwnershipDenied(ErrorCode.FORBIDDEN, 'only the author or an ADMIN may change this report', `Report:${id}`);
    }
    return report;
  }
}
