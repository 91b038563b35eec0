// Baseline: the no-ORM limit. Apollo 5 on Fastify 5, same SDL, no security; `reports` and
// `createReport` run the statements Bastion runs (read from its query log: a page of whole
// rows and the count, then the page's authors in one batch; an insert of the report, whose tag
// rows the database's triggers write, plus the one audit row Bastion writes), as prepared
// statements straight on the driver:
// better-sqlite3 on SQLite, `pg` named statements on PostgreSQL. It opens the database Bastion's
// bench instance migrated and seeded, so both read the same rows.
//
//   BASELINE_SQLITE_FILE=<file> | BASELINE_DATABASE_URL=postgres://…   the database
//   BASELINE_VIEWER_ID=<user id>   whose reports are read and written (no sign-in: no security)
import { randomUUID } from 'node:crypto';
import { ApolloServer } from '@apollo/server';
import fastifyApollo from '@as-integrations/fastify';
import BetterSqlite3 from 'better-sqlite3';
import DataLoader from 'dataloader';
import Fastify from 'fastify';
import pg from 'pg';
import { decodeCursor, pageSize, toConnection, type Cursor } from '../../src/kernel/pagination.js';
import { announce, ME, portArgument, typeDefs } from './common.js';

/** A Report row as the resolvers use it (`createdAt` a Date, for cursors). */
interface ReportRow {
  id: string;
  authorId: string;
  title: string;
  body: string;
  searchText: string;
  status: string;
  tagsJson: string;
  dataJson: string | null;
  createdAt: Date;
  updatedAt: Date;
}

interface UserRow {
  id: string;
  username: string;
  [column: string]: unknown;
}

/** The audit row Bastion's mutation plugin writes for a successful createReport. */
interface AuditRow {
  id: string;
  action: string;
  outcome: string;
  actorId: string;
  targetType: string;
  targetId: string;
  ip: string | null;
  requestId: string;
  createdAt: Date;
}

/** The statements, one method each; both databases implement them. */
interface ReportStore {
  /** One newest-first page of whole rows, as Bastion reads it (src/reports/filter.ts, reportPageSql). */
  page(authorId: string, after: Cursor | undefined, limit: number): Promise<ReportRow[]>;
  count(authorId: string): Promise<number>;
  usersByIds(ids: readonly string[]): Promise<UserRow[]>;
  /** The report (its tag rows come from the triggers on its tag keys) and its audit row, in one transaction. */
  createReport(report: ReportRow, tagKeysJson: string, audit: AuditRow): Promise<void>;
}

const REPORT_COLUMNS = '"id", "authorId", "title", "body", "searchText", "status", "tagsJson", "dataJson", "createdAt", "updatedAt"';
// Prisma selects every scalar column of User, passwordHash included; so does this.
const USER_COLUMNS = '"id", "email", "username", "usernameKey", "passwordHash", "role", "disabled", "tokenVersion", "lastLoginAt", "createdAt", "updatedAt"';

/** The keyset page of whole rows, as src/reports/filter.ts writes it for a USER, with `param(n)` placeholders. */
function pageSql(param: (n: number) => string, after: boolean): string {
  const keyset = after ? ` AND (r."createdAt" < ${param(2)} OR (r."createdAt" = ${param(3)} AND r."id" < ${param(4)}))` : '';
  const columns = REPORT_COLUMNS.split(', ').map((column) => `r.${column}`).join(', ');
  return `SELECT ${columns} FROM "Report" r WHERE r."authorId" = ${param(1)}${keyset} ORDER BY r."createdAt" DESC, r."id" DESC LIMIT ${param(after ? 5 : 2)}`;
}
const COUNT_SQL = (param: (n: number) => string) => `SELECT COUNT(*) AS "n" FROM "Report" r WHERE r."authorId" = ${param(1)}`;
const INSERT_REPORT = (param: (n: number) => string) =>
  `INSERT INTO "Report" (${REPORT_COLUMNS}, "tagKeysJson") VALUES (${Array.from({ length: 11 }, (_, i) => param(i + 1)).join(', ')})`;
const INSERT_AUDIT = (param: (n: number) => string) =>
  `INSERT INTO "AuditEvent" ("id", "action", "outcome", "actorId", "targetType", "targetId", "ip", "requestId", "count", "createdAt") VALUES (${Array.from({ length: 10 }, (_, i) => param(i + 1)).join(', ')})`;

/** better-sqlite3, with the pragmas Bastion sets on its own connection (src/db/database.ts). */
function sqliteStore(file: string): ReportStore {
  const db = new BetterSqlite3(file, { timeout: 5000 });
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  // Bastion stores DateTime as ISO-8601 text with an explicit offset (SQLITE_TIMESTAMP_FORMAT).
  const text = (date: Date) => date.toISOString().replace('Z', '+00:00');
  const q = () => '?';
  const page = db.prepare<unknown[], Record<string, unknown>>(pageSql(q, false));
  const pageAfter = db.prepare<unknown[], Record<string, unknown>>(pageSql(q, true));
  const count = db.prepare<[string], { n: number }>(COUNT_SQL(q));
  const insertReport = db.prepare(INSERT_REPORT(q));
  const insertAudit = db.prepare(INSERT_AUDIT(q));
  // `IN (?, …)` takes one placeholder per id: one prepared statement per list length, made once.
  const byIds = new Map<string, BetterSqlite3.Statement<unknown[], Record<string, unknown>>>();
  const selectByIds = (sql: (list: string) => string, ids: readonly string[]) => {
    const key = sql('') + ids.length;
    let statement = byIds.get(key);
    if (!statement) byIds.set(key, (statement = db.prepare(sql(ids.map(() => '?').join(', ')))));
    return statement.all(...ids);
  };
  const create = db.transaction((report: ReportRow, tagKeysJson: string, audit: AuditRow) => {
    insertReport.run(report.id, report.authorId, report.title, report.body, report.searchText, report.status, report.tagsJson, report.dataJson, text(report.createdAt), text(report.updatedAt), tagKeysJson);
    insertAudit.run(audit.id, audit.action, audit.outcome, audit.actorId, audit.targetType, audit.targetId, audit.ip, audit.requestId, 1, text(audit.createdAt));
  });
  return {
    async page(authorId, after, limit) {
      const rows = after ? pageAfter.all(authorId, text(after.createdAt), text(after.createdAt), after.id, limit) : page.all(authorId, limit);
      return rows.map((row) => ({ ...row, createdAt: new Date(row.createdAt as string), updatedAt: new Date(row.updatedAt as string) }) as ReportRow);
    },
    async count(authorId) {
      return count.get(authorId)!.n;
    },
    async usersByIds(ids) {
      return selectByIds((list) => `SELECT ${USER_COLUMNS} FROM "User" WHERE "id" IN (${list})`, ids) as UserRow[];
    },
    async createReport(report, tagKeysJson, audit) {
      create(report, tagKeysJson, audit);
    },
  };
}

/** `pg` with named prepared statements: each connection prepares a name once, then only binds. */
function postgresStore(url: string): ReportStore {
  // TIMESTAMP(3) columns hold UTC wall time (as Prisma writes them): read them as UTC.
  const TIMESTAMP_OID = 1114;
  const types = { getTypeParser: (oid: number, format?: 'text' | 'binary') => (oid === TIMESTAMP_OID ? (value: string) => new Date(`${value.replace(' ', 'T')}Z`) : pg.types.getTypeParser(oid, format as 'text')) };
  // The pool size Bastion uses by default (DB_POOL_SIZE=10).
  const pool = new pg.Pool({ connectionString: url, max: 10, types: types as pg.CustomTypesConfig });
  const dollar = (n: number) => `$${n}`;
  // Written as UTC wall time into TIMESTAMP columns (the offset of an ISO string is ignored there).
  const utc = (date: Date) => date.toISOString();
  const statements = {
    page: pageSql(dollar, false),
    pageAfter: pageSql(dollar, true),
    count: COUNT_SQL(dollar),
    usersByIds: `SELECT ${USER_COLUMNS} FROM "User" WHERE "id" = ANY($1::text[])`,
    insertReport: INSERT_REPORT(dollar),
    insertAudit: INSERT_AUDIT(dollar),
  };
  const named = (name: keyof typeof statements, values: unknown[]) => ({ name: `no_orm_${name}`, text: statements[name], values });
  return {
    async page(authorId, after, limit) {
      const query = after ? named('pageAfter', [authorId, utc(after.createdAt), utc(after.createdAt), after.id, limit]) : named('page', [authorId, limit]);
      return (await pool.query<ReportRow>(query)).rows;
    },
    async count(authorId) {
      const { rows } = await pool.query<{ n: string }>(named('count', [authorId]));
      return Number(rows[0]!.n);
    },
    async usersByIds(ids) {
      return (await pool.query<UserRow>(named('usersByIds', [ids]))).rows;
    },
    async createReport(report, tagKeysJson, audit) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query(named('insertReport', [report.id, report.authorId, report.title, report.body, report.searchText, report.status, report.tagsJson, report.dataJson, utc(report.createdAt), utc(report.updatedAt), tagKeysJson]));
        await client.query(named('insertAudit', [audit.id, audit.action, audit.outcome, audit.actorId, audit.targetType, audit.targetId, audit.ip, audit.requestId, 1, utc(audit.createdAt)]));
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      } finally {
        client.release();
      }
    },
  };
}

function openStore(): ReportStore {
  const url = process.env.BASELINE_DATABASE_URL;
  const file = process.env.BASELINE_SQLITE_FILE;
  if (url) return postgresStore(url);
  if (file) return sqliteStore(file);
  throw new Error('set BASELINE_DATABASE_URL (PostgreSQL) or BASELINE_SQLITE_FILE (SQLite)');
}

const viewerId = process.env.BASELINE_VIEWER_ID;
if (!viewerId) throw new Error('set BASELINE_VIEWER_ID: the user whose reports are read and written');

interface Context {
  ip: string;
  authors: DataLoader<string, UserRow | undefined>;
}

interface CreateReportInput {
  title: string;
  body?: string | null;
  status?: string | null;
  tags?: string[] | null;
}

const store = openStore();
const resolvers = {
  Query: {
    me: () => ME,
    reports: async (_parent: unknown, args: { first?: number | null; after?: string | null }) => {
      const size = pageSize(args.first);
      // As in Bastion: the page of rows and the count at once (the bench selects totalCount).
      const [rows, totalCount] = await Promise.all([store.page(viewerId, decodeCursor(args.after), size + 1), store.count(viewerId)]);
      return toConnection(rows, size, totalCount);
    },
  },
  Mutation: {
    createReport: async (_parent: unknown, { input }: { input: CreateReportInput }, ctx: Context) => {
      const now = new Date();
      const body = input.body ?? '';
      const tags = input.tags ?? [];
      const report: ReportRow = {
        id: randomUUID(),
        authorId: viewerId,
        title: input.title,
        body,
        searchText: `${input.title}\n${body}`.toLowerCase(),
        status: input.status ?? 'DRAFT',
        tagsJson: JSON.stringify(tags),
        dataJson: null,
        createdAt: now,
        updatedAt: now,
      };
      const audit: AuditRow = { id: randomUUID(), action: 'createReport', outcome: 'SUCCESS', actorId: viewerId, targetType: 'Report', targetId: report.id, ip: ctx.ip, requestId: randomUUID(), createdAt: now };
      // Tag keys are lower-cased, as Bastion's (the tag filter is case-insensitive).
      await store.createReport(report, JSON.stringify(tags.map((tag) => tag.toLowerCase())), audit);
      return report;
    },
  },
  Report: {
    tags: (report: ReportRow) => JSON.parse(report.tagsJson) as string[],
    createdAt: (report: ReportRow) => report.createdAt.toISOString(),
    updatedAt: (report: ReportRow) => report.updatedAt.toISOString(),
    author: (report: ReportRow, _args: unknown, ctx: Context) => ctx.authors.load(report.authorId),
  },
};

const port = portArgument();
const app = Fastify();
const apollo = new ApolloServer<Context>({ typeDefs, resolvers });
await apollo.start();
await app.register(fastifyApollo(apollo), {
  // Per request, like Bastion's loaders: the page's authors in one query.
  context: async (request) => ({
    ip: request.ip,
    authors: new DataLoader(async (ids: readonly string[]) => {
      const byId = new Map((await store.usersByIds(ids)).map((user) => [user.id, user]));
      return ids.map((id) => byId.get(id));
    }),
  }),
});
await app.listen({ port, host: '127.0.0.1' });
announce(port);
