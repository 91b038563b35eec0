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
  /**
   * The argument that tells the trigram index what to look up (`args[arg]`), holding a choice made
   * without statistics; runReportSql replaces it with the rarest choice (see chooseIndexed).
   */
  index?: { arg: number; words: readonly string[] };
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

/** The distinct trigrams of the words (FTS5 trigram tokens: any characters, by code point), in order. */
export function trigramsOf(words: readonly string[]): string[] {
  const grams = new Set<string>();
  for (const word of words) {
    const chars = [...word];
    for (let i = 0; i + TRIGRAM <= chars.length; i++) grams.add(chars.slice(i, i + TRIGRAM).join(''));
  }
  return [...grams];
}

/** An FTS5 query holding every one of `grams`, each a quoted string (a trigram is one token). */
function matchAll(grams: readonly string[]): string {
  return grams.map((gram) => `"${gram.replace(/"/g, '""')}"`).join(' AND ');
}

/** `%`, `_` and `\` taken literally by PostgreSQL's LIKE (whose escape character is `\`). */
function likeContains(word: string): string {
  return `%${word.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** How many of the rarest trigrams SQLite's index looks up: each costs a walk of its document list. */
export const MATCH_TRIGRAMS = 2;

/**
 * What the trigram index looks up, given `counts` (reports holding each key, capped: see
 * lookUpCounts; SQLite keys are trigrams, PostgreSQL keys are words). Any subset is correct, since
 * every word is then checked literally on the rows found; fewer, rarer keys only make it cheaper.
 * SQLite: the MATCH_TRIGRAMS rarest trigrams of all words. PostgreSQL: the LIKE pattern of the
 * rarest word (ties: the longer). Without counts, SQLite takes every trigram and PostgreSQL the
 * longest word. Null when no word is long enough for the index.
 */
export function chooseIndexed(provider: Provider, words: readonly string[], counts?: ReadonlyMap<string, number>): string | null {
  const indexed = words.filter(isIndexed);
  if (indexed.length === 0) return null;
  const rarity = (key: string) => counts?.get(key) ?? Number.POSITIVE_INFINITY;
  if (provider === 'postgresql') {
    const [word] = [...indexed].sort((a, b) => rarity(a) - rarity(b) || [...b].length - [...a].length);
    return likeContains(word!);
  }
  const grams = trigramsOf(indexed);
  if (!counts) return matchAll(grams);
  // Array.prototype.sort is stable: equally rare trigrams keep the order of the term.
  return matchAll([...grams].sort((a, b) => rarity(a) - rarity(b)).slice(0, MATCH_TRIGRAMS));
}

/**
 * The search condition. SQLite: the FTS5 trigram index ("ReportSearch") narrows the rows to those
 * holding the rarest trigrams of the words, using only its document lists (phrase matching walks
 * position lists, which a body of one repeated character makes quadratic); `instr` then checks
 * each word on those rows, literally. PostgreSQL: `LIKE` with escaped wildcards on the rarest word,
 * answered from the pg_trgm GIN index, and `strpos` (which GIN cannot answer, so it reads no more
 * of the index) checks every word on the rows found. Both compare the lower-cased text exactly, so
 * both databases agree, whichever trigrams or word the index is given.
 */
function addSearch(where: Conditions, words: readonly string[]): SqlCondition['index'] {
  if (words.length === 0) return undefined;
  const lookup = chooseIndexed(where.provider, words);
  let index: SqlCondition['index'];
  if (lookup !== null) {
    const param = where.param(lookup);
    index = { arg: where.args.length - 1, words };
    where.parts.push(
      where.provider === 'postgresql'
        ? `r."searchText" LIKE ${param}`
        : `r.rowid IN (SELECT rowid FROM "ReportSearch" WHERE "ReportSearch" MATCH ${param})`,
    );
  }
  const contains = where.provider === 'postgresql' ? (p: string) => `strpos(r."searchText", ${p}) > 0` : (p: string) => `instr(r."searchText", ${p}) > 0`;
  for (const word of words) where.parts.push(contains(where.param(word)));
  return index;
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
  const index = addSearch(where, words);
  return { sql: where.parts.length > 0 ? where.parts.join(' AND ') : '1 = 1', args: where.args, searches: words.length > 0, index };
}

/** Ids (with their creation time, for keyset pagination) of one newest-first page of matching reports. */
export function reportIdsSql(condition: SqlCondition, provider: Provider, limit: number): SqlCondition {
  return {
    sql: `SELECT r."id" AS "id", r."createdAt" AS "createdAt" FROM "Report" r WHERE ${condition.sql} ORDER BY r."createdAt" DESC, r."id" DESC LIMIT ${sqlParam(provider, condition.args.length + 1)}`,
    args: [...condition.args, limit],
    searches: condition.searches,
    index: condition.index,
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
    index: condition.index,
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
  return { sql: `SELECT COUNT(*) AS "n" FROM "Report" r WHERE ${condition.sql}`, args: condition.args, searches: condition.searches, index: condition.index };
}

/** Counts stop here: past it a key is common, and which of two common keys is rarer matters little. */
export const COUNT_CAP = 10_000;
/** How long a count is trusted. Stale counts only make a search slower, never wrong. */
const COUNT_TTL_MS = 5 * 60_000;
/** The most keys remembered per database; the oldest are forgotten first. */
const COUNTS_MAX = 10_000;

/** Per database: reports holding each key (trigram or word), capped at COUNT_CAP, as it was at `at`. */
const countCaches = new WeakMap<Database, Map<string, { at: number; count: Promise<number> }>>();

/**
 * The capped counts of `keys`, remembered for COUNT_TTL_MS; the missing ones in one statement
 * through `longRead`. Each count stops at COUNT_CAP rows: on SQLite a single trigram's document
 * list (at most a few tenths of a millisecond), on PostgreSQL a word's LIKE through the GIN index.
 * Concurrent searches for the same key share one look-up.
 */
export async function lookUpCounts(db: Database, keys: readonly string[], now = Date.now()): Promise<Map<string, number>> {
  let cache = countCaches.get(db);
  if (!cache) countCaches.set(db, (cache = new Map()));
  const missing = keys.filter((key) => {
    const known = cache.get(key);
    return !known || now - known.at > COUNT_TTL_MS;
  });
  if (missing.length > 0) {
    const counted = db.longRead<Record<string, number | bigint>>(countSql(db.provider, missing), db.provider === 'postgresql' ? missing.map(likeContains) : missing.map((gram) => matchAll([gram])));
    missing.forEach((key, i) => {
      const count = counted.then((rows) => Number(rows[0]?.[`c${i}`] ?? 0));
      cache.delete(key); // re-inserted last: the Map's order is the age order
      cache.set(key, { at: now, count });
      count.catch(() => cache.get(key)?.count === count && cache.delete(key));
    });
    for (const key of cache.keys()) {
      if (cache.size <= COUNTS_MAX) break;
      cache.delete(key);
    }
  }
  const counts = await Promise.all(keys.map((key) => cache.get(key)?.count ?? Promise.resolve(COUNT_CAP)));
  return new Map(keys.map((key, i) => [key, counts[i]!]));
}

/** One row: column c<i> holds the capped count of the i-th key. */
function countSql(provider: Provider, keys: readonly string[]): string {
  return `SELECT ${keys
    .map((_, i) =>
      provider === 'postgresql'
        ? `(SELECT COUNT(*) FROM (SELECT 1 FROM "Report" r WHERE r."searchText" LIKE ${sqlParam(provider, i + 1)} LIMIT ${COUNT_CAP}) s) AS "c${i}"`
        : `(SELECT COUNT(*) FROM (SELECT rowid FROM "ReportSearch" WHERE "ReportSearch" MATCH ? LIMIT ${COUNT_CAP})) AS "c${i}"`,
    )
    .join(', ')}`;
}

/**
 * Runs a statement from above. A search goes through `longRead` (on SQLite a worker thread, so it
 * cannot stall other requests); anything else uses indexes and stays on the ordinary connection.
 * A search first gives the trigram index its rarest keys (chooseIndexed, with lookUpCounts): over
 * 100,000 reports, `report 4242` costs SQLite 0.1 ms instead of 1.2, PostgreSQL 0.5 ms instead of 2.
 * A failed look-up leaves the choice made without counts.
 */
export async function runReportSql<T>(db: Database, statement: SqlCondition): Promise<T[]> {
  if (!statement.searches) return db.prisma.$queryRawUnsafe<T[]>(statement.sql, ...statement.args);
  let args = statement.args;
  if (statement.index) {
    const { arg, words } = statement.index;
    const indexed = words.filter(isIndexed);
    const counts = await lookUpCounts(db, db.provider === 'postgresql' ? indexed : trigramsOf(indexed)).catch(() => undefined);
    const lookup = counts && chooseIndexed(db.provider, words, counts);
    if (lookup) args = args.map((value, i) => (i === arg ? lookup : value));
  }
  return db.longRead<T>(statement.sql, args);
}
