import { sqlParam, type Database, type Provider } from '../db/database.js';
import { badInput } from '../errors.js';
import type { Viewer } from '../kernel/requestIdentity.js';
import type { Cursor } from '../kernel/pagination.js';
import type { Report } from '../db/models.js';

export interface ReportFilter {
  status?: string | null;
  tag?: string | null;
  authorId?: string | null;
  search?: string | null;
  createdAfter?: Date | string | null;
  createdBefore?: Date | string | null;
}

/** The longest search term, in characters, and the most words it may hold. */
export const SEARCH_MAX = 100;
export const SEARCH_WORDS_MAX = 8;
/** The trigram index finds words of at least this many characters; shorter ones are checked row by row. */
const TRIGRAM = 3;

/** The author whose reports a viewer may read: a USER only their own; null means everyone's. */
export function readableAuthor(viewer: Pick<Viewer, 'id' | 'role'>): string | null {
  return viewer.role === 'USER' ? viewer.id : null;
}

/**
 * The words of a search term: split on white space, lower-cased like `searchText`, duplicates
 * dropped. A report matches when every word occurs in its title or body as a substring, every
 * character taken literally. BAD_USER_INPUT naming `filter.search` beyond the bounds.
 */
export function searchWords(term: string | null | undefined): string[] {
  if (!term) return [];
  if (term.length > SEARCH_MAX && [...term].length > SEARCH_MAX) {
    throw badInput('filter.search', `must be at most ${SEARCH_MAX} characters`);
  }
  const words = [...new Set(term.toLowerCase().split(/\s+/u).filter(Boolean))];
  if (words.length > SEARCH_WORDS_MAX) throw badInput('filter.search', `must be at most ${SEARCH_WORDS_MAX} words`);
  return words;
}

/** A WHERE condition over `"Report" r` (or a statement) with its positional arguments, in the provider's dialect. */
export interface SqlCondition {
  sql: string;
  args: unknown[];
  /** Whether it searches: then its cost is the caller's to drive up (see runReportSql). */
  searches: boolean;
}

/** Collects arguments and hands out their placeholders ($n or ?). */
class Conditions {
  readonly parts: string[] = [];
  readonly args: unknown[] = [];
  constructor(readonly provider: Provider) {}

  param(value: unknown): string {
    this.args.push(value);
    return sqlParam(this.provider, this.args.length);
  }
}

/** Whether the trigram index can narrow the search for a word (it holds whole trigrams only). */
function isIndexed(word: string): boolean {
  return [...word].length >= TRIGRAM;
}

/** The distinct trigrams of a word, each a quoted FTS5 string (a trigram is one token). */
function trigramQuery(word: string): string {
  const chars = [...word];
  const grams = new Set<string>();
  for (let i = 0; i + TRIGRAM <= chars.length; i++) grams.add(chars.slice(i, i + TRIGRAM).join(''));
  return [...grams].map((gram) => `"${gram.replace(/"/g, '""')}"`).join(' AND ');
}

/** `%`, `_` and `\` taken literally by PostgreSQL's LIKE (whose escape character is `\`). */
function likeContains(word: string): string {
  return `%${word.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * The search condition. SQLite: the FTS5 trigram index ("ReportSearch") narrows the rows to those
 * holding every trigram of every word, using only its document lists (phrase matching walks
 * position lists, which a body of one repeated character makes quadratic); `instr` then checks
 * each word on those rows, literally. PostgreSQL: `LIKE` with escaped wildcards, answered from the
 * pg_trgm GIN index. Both compare the lower-cased text exactly, so both databases agree.
 */
function addSearch(where: Conditions, words: readonly string[]): void {
  if (words.length === 0) return;
  if (where.provider === 'postgresql') {
    for (const word of words) where.parts.push(`r."searchText" LIKE ${where.param(likeContains(word))}`);
    return;
  }
  const indexed = words.filter(isIndexed);
  if (indexed.length > 0) {
    const match = indexed.map(trigramQuery).join(' AND ');
    where.parts.push(`r.rowid IN (SELECT rowid FROM "ReportSearch" WHERE "ReportSearch" MATCH ${where.param(match)})`);
  }
  for (const word of words) where.parts.push(`instr(r."searchText", ${where.param(word)}) > 0`);
}

/**
 * The one definition of "reports matching `filter` that `author` (from readableAuthor) may read",
 * used by the reports list and by REPORTS exports. `createdAfter` is inclusive and `createdBefore`
 * exclusive, so adjacent ranges never overlap. `after` continues newest-first keyset pagination.
 */
export function reportCondition(
  filter: ReportFilter | null | undefined,
  author: string | null,
  provider: Provider,
  after?: Cursor,
): SqlCondition {
  const words = searchWords(filter?.search);
  const where = new Conditions(provider);
  // With the trigram index in play on SQLite, the planner must start from its matches: given an
  // indexed equality (author, status) it walked that index instead, checking every one of the
  // author's rows against the matches (30 ms instead of 4 over 100,000 reports). A unary `+` keeps
  // the condition but takes its index out of the plan.
  const column = provider === 'sqlite' && words.some(isIndexed) ? (name: string) => `+r."${name}"` : (name: string) => `r."${name}"`;
  if (author !== null) where.parts.push(`${column('authorId')} = ${where.param(author)}`);
  if (filter?.authorId) where.parts.push(`${column('authorId')} = ${where.param(filter.authorId)}`);
  if (filter?.status) where.parts.push(`${column('status')} = ${where.param(filter.status)}`);
  const tag = filter?.tag?.trim().toLowerCase();
  if (tag) where.parts.push(`EXISTS (SELECT 1 FROM "ReportTag" t WHERE t."reportId" = r."id" AND t."tag" = ${where.param(tag)})`);
  if (filter?.createdAfter) where.parts.push(`r."createdAt" >= ${where.param(new Date(filter.createdAfter))}`);
  if (filter?.createdBefore) where.parts.push(`r."createdAt" < ${where.param(new Date(filter.createdBefore))}`);
  if (after) {
    const before = where.param(after.createdAt);
    const same = where.param(after.createdAt); // SQLite's `?` cannot be reused
    where.parts.push(`(r."createdAt" < ${before} OR (r."createdAt" = ${same} AND r."id" < ${where.param(after.id)}))`);
  }
  // Cheap conditions first: SQLite checks them in order, so `instr` runs on the fewest rows.
  addSearch(where, words);
  return { sql: where.parts.length > 0 ? where.parts.join(' AND ') : '1 = 1', args: where.args, searches: words.length > 0 };
}

/** Ids (with their creation time, for keyset pagination) of one newest-first page of matching reports. */
export function reportIdsSql(condition: SqlCondition, provider: Provider, limit: number): SqlCondition {
  return {
    sql: `SELECT r."id" AS "id", r."createdAt" AS "createdAt" FROM "Report" r WHERE ${condition.sql} ORDER BY r."createdAt" DESC, r."id" DESC LIMIT ${sqlParam(provider, condition.args.length + 1)}`,
    args: [...condition.args, limit],
    searches: condition.searches,
  };
}

/** The columns of a Report row, as Prisma's `Report` type has them. */
const REPORT_COLUMNS = ['id', 'authorId', 'title', 'body', 'searchText', 'status', 'tagsJson', 'tagKeysJson', 'dataJson', 'createdAt', 'updatedAt'];

/** One newest-first page of matching reports, whole rows: one statement instead of ids, then rows by id. */
export function reportPageSql(condition: SqlCondition, provider: Provider, limit: number): SqlCondition {
  const columns = REPORT_COLUMNS.map((column) => `r."${column}"`).join(', ');
  return {
    sql: `SELECT ${columns} FROM "Report" r WHERE ${condition.sql} ORDER BY r."createdAt" DESC, r."id" DESC LIMIT ${sqlParam(provider, condition.args.length + 1)}`,
    args: [...condition.args, limit],
    searches: condition.searches,
  };
}

/**
 * A row of reportPageSql as Prisma types it. Prisma's raw queries already give Dates; SQLite's
 * long-read worker gives the stored ISO text.
 */
export function reportOfRow(row: Report | (Omit<Report, 'createdAt' | 'updatedAt'> & { createdAt: string; updatedAt: string })): Report {
  if (row.createdAt instanceof Date && row.updatedAt instanceof Date) return row as Report;
  return { ...row, createdAt: new Date(row.createdAt), updatedAt: new Date(row.updatedAt) };
}

export function reportCountSql(condition: SqlCondition): SqlCondition {
  return { sql: `SELECT COUNT(*) AS "n" FROM "Report" r WHERE ${condition.sql}`, args: condition.args, searches: condition.searches };
}

/**
 * Runs a statement from above. A search goes through `longRead` (on SQLite a worker thread, so it
 * cannot stall other requests); anything else uses indexes and stays on the ordinary connection.
 */
export function runReportSql<T>(db: Database, statement: SqlCondition): Promise<T[]> {
  return statement.searches ? db.longRead<T>(statement.sql, statement.args) : db.prisma.$queryRawUnsafe<T[]>(statement.sql, ...statement.args);
}
