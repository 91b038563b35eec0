import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportCondition, reportPageSql } from '../../src/reports/filter.js';
import { errorCodes, loginAdmin, register, skipSuite, TestServer, userWithRole, type Session } from '../helpers/server.js';

const FIELDS = 'id title body status tags data createdAt updatedAt author { id username }';
const CREATE = `mutation($input: CreateReportInput!) { createReport(input: $input) { ${FIELDS} } }`;
const UPDATE = `mutation($id: ID!, $input: UpdateReportInput!) { updateReport(id: $id, input: $input) { ${FIELDS} } }`;
const DELETE = `mutation($id: ID!) { deleteReport(id: $id) }`;
const GET = `query($id: ID!) { report(id: $id) { ${FIELDS} } }`;
const LIST = `query($first: Int, $after: String, $filter: ReportFilter) {
  reports(first: $first, after: $after, filter: $filter) {
    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id title status createdAt author { id } } }
  }
}`;

interface ReportNode {
  id: string;
  title: string;
  body: string;
  status: string;
  tags: string[];
  data: unknown;
  createdAt: string;
  updatedAt: string;
  author: { id: string; username: string };
}
interface Page {
  totalCount: number;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  edges: Array<{ cursor: string; node: { id: string; title: string; status: string; createdAt: string; author: { id: string } } }>;
}

describe.skipIf(skipSuite())('reports', () => {
  let server: TestServer;
  let alice: Session;
  let bob: Session;
  let analyst: Session;
  let admin: Session;

  async function create(session: Session, input: Record<string, unknown>): Promise<ReportNode> {
    const res = await server.gql<{ createReport: ReportNode }>(CREATE, { input }, { token: session.accessToken });
    if (!res.body.data?.createReport) throw new Error(JSON.stringify(res.body.errors));
    return res.body.data.createReport;
  }

  async function list(session: Session, variables: Record<string, unknown>): Promise<Page> {
    const res = await server.gql<{ reports: Page }>(LIST, variables, { token: session.accessToken });
    if (!res.body.data?.reports) throw new Error(JSON.stringify(res.body.errors));
    return res.body.data.reports;
  }

  /** Every page of a filter, following endCursor. */
  async function allPages(session: Session, filter: Record<string, unknown> | undefined, first: number): Promise<Page[]> {
    const pages: Page[] = [];
    let after: string | null = null;
    do {
      const page = await list(session, { first, after, filter });
      pages.push(page);
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
    } while (after);
    return pages;
  }

  beforeAll(async () => {
    server = await TestServer.start({ RATE_LIMITS: 'Mutation.createReport=1000/60' });
    alice = await register(server);
    bob = await register(server);
    analyst = await userWithRole(server, 'ANALYST');
    admin = await loginAdmin(server);
  });
  afterAll(() => server.close());

  it('creates, reads, updates and deletes a report, keeping tag order and JSON data', async () => {
    const data = { kpi: [1, 2.5, null], nested: { ok: true, text: 'ü' } };
    const created = await create(alice, { title: '  Quarterly numbers ', body: 'Body', status: 'PUBLISHED', tags: ['zeta', 'Alpha', 'alpha', 'mid'], data });
    expect(created).toMatchObject({ title: 'Quarterly numbers', body: 'Body', status: 'PUBLISHED', tags: ['zeta', 'Alpha', 'mid'], data });
    expect(created.author).toEqual({ id: alice.user.id, username: alice.user.username });

    const read = await server.gql<{ report: ReportNode }>(GET, { id: created.id }, { token: alice.accessToken });
    expect(read.body.data?.report).toEqual(created);

    const updated = await server.gql<{ updateReport: ReportNode }>(UPDATE, { id: created.id, input: { status: 'ARCHIVED', tags: ['one'] } }, { token: alice.accessToken });
    expect(updated.body.data?.updateReport).toMatchObject({ title: 'Quarterly numbers', body: 'Body', status: 'ARCHIVED', tags: ['one'], data });
    const cleared = await server.gql<{ updateReport: ReportNode }>(UPDATE, { id: created.id, input: { data: null } }, { token: alice.accessToken });
    expect(cleared.body.data?.updateReport.data).toBeNull();

    const deleted = await server.gql(DELETE, { id: created.id }, { token: alice.accessToken });
    expect(deleted.body.data).toEqual({ deleteReport: true });
    const gone = await server.gql(GET, { id: created.id }, { token: alice.accessToken });
    expect(errorCodes(gone.body)).toEqual(['NOT_FOUND']);
  });

  it('lets a USER see only their own reports; ANALYST and ADMIN see all', async () => {
    const own = await create(alice, { title: 'alice private' });
    const other = await create(bob, { title: 'bob private' });

    const foreign = await server.gql(GET, { id: other.id }, { token: alice.accessToken });
    expect(errorCodes(foreign.body)).toEqual(['NOT_FOUND']);
    // Exactly what a missing report answers, yet it is a denied access, audited as a security event.
    const missing = await server.gql(GET, { id: '00000000-0000-4000-8000-000000000000' }, { token: alice.accessToken });
    expect(foreign.body.errors?.[0]?.message).toBe(missing.body.errors?.[0]?.message);
    await server.app.services.audit.flush();
    const denied = await server.app.services.db.prisma.auditEvent.findMany({ where: { action: 'accessDenied', actorId: alice.user.id } });
    expect(denied.map((row) => row.targetId)).toEqual([`Report:${other.id}`]);
    const aliceList = await allPages(alice, undefined, 100);
    const aliceIds = aliceList.flatMap((p) => p.edges.map((e) => e.node.author.id));
    expect(new Set(aliceIds)).toEqual(new Set([alice.user.id]));
    // Asking for someone else's reports by author gives nothing, not their reports.
    expect((await list(alice, { filter: { authorId: bob.user.id } })).totalCount).toBe(0);

    for (const reader of [analyst, admin]) {
      const res = await server.gql<{ report: ReportNode }>(GET, { id: other.id }, { token: reader.accessToken });
      expect(res.body.data?.report.id).toBe(other.id);
      const all = await list(reader, { first: 100 });
      expect(all.edges.map((e) => e.node.id)).toEqual(expect.arrayContaining([own.id, other.id]));
    }
  });

  it('lets only the author or an ADMIN change a report', async () => {
    const report = await create(alice, { title: 'guarded' });
    // Bob cannot read it: it does not exist for him.
    for (const query of [UPDATE, DELETE]) {
      const res = await server.gql(query, { id: report.id, input: { title: 'x' } }, { token: bob.accessToken });
      expect(errorCodes(res.body)).toEqual(['NOT_FOUND']);
    }
    // The analyst can read it, so hiding it would be pointless: FORBIDDEN.
    for (const query of [UPDATE, DELETE]) {
      const res = await server.gql(query, { id: report.id, input: { title: 'x' } }, { token: analyst.accessToken });
      expect(errorCodes(res.body)).toEqual(['FORBIDDEN']);
    }
    const byAdmin = await server.gql<{ updateReport: ReportNode }>(UPDATE, { id: report.id, input: { title: 'fixed by admin' } }, { token: admin.accessToken });
    expect(byAdmin.body.data?.updateReport).toMatchObject({ title: 'fixed by admin', author: { id: alice.user.id } });
    const removed = await server.gql(DELETE, { id: report.id }, { token: admin.accessToken });
    expect(removed.body.data).toEqual({ deleteReport: true });
    const missing = await server.gql(DELETE, { id: report.id }, { token: admin.accessToken });
    expect(errorCodes(missing.body)).toEqual(['NOT_FOUND']);
  });

  it('refuses invalid input naming the field', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ title: '   ' }, 'title'],
      [{ title: 't'.repeat(201) }, 'title'],
      [{ title: 'ok', body: 'b'.repeat(100_001) }, 'body'],
      [{ title: 'ok', tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }, 'tags'],
      [{ title: 'ok', tags: ['x'.repeat(41)] }, 'tags'],
      [{ title: 'ok', tags: [''] }, 'tags'],
      [{ title: 'ok', data: { blob: 'x'.repeat(64 * 1024) } }, 'data'],
    ];
    for (const [input, field] of cases) {
      const res = await server.gql(CREATE, { input }, { token: alice.accessToken });
      expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    }
    // At the limits, it is accepted (200 characters counted as characters, not UTF-16 units).
    const edge = await create(alice, { title: '😀'.repeat(200), body: 'b'.repeat(100_000), tags: Array.from({ length: 20 }, (_, i) => `${i}`.padEnd(40, 'x')) });
    expect(edge.tags).toHaveLength(20);
    const report = await create(alice, { title: 'valid' });
    const update = await server.gql(UPDATE, { id: report.id, input: { title: '' } }, { token: alice.accessToken });
    expect(update.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'title' });
    const tooMany = await server.gql(LIST, { first: 101 }, { token: alice.accessToken });
    expect(tooMany.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
    const badCursor = await server.gql(LIST, { after: 'not-a-cursor' }, { token: alice.accessToken });
    expect(badCursor.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
  });

  it('pages through reports newest first, without duplicates or gaps, while rows are added', async () => {
    const writer = await register(server);
    const made: string[] = [];
    for (let i = 0; i < 23; i++) made.push((await create(writer, { title: `page ${i}` })).id);

    const first = await list(writer, { first: 5 });
    // A report added after the first page must not shift the next pages.
    const late = await create(writer, { title: 'late' });
    const pages = [first];
    let after = first.pageInfo.endCursor;
    while (after) {
      const page = await list(writer, { first: 5, after });
      pages.push(page);
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
    }
    const ids = pages.flatMap((p) => p.edges.map((e) => e.node.id));
    expect(pages).toHaveLength(5);
    expect(ids).toEqual([...made].reverse());
    expect(ids).not.toContain(late.id);
    expect(pages.at(-1)?.pageInfo.hasNextPage).toBe(false);
    expect(pages.map((p) => p.totalCount)).toEqual([23, 24, 24, 24, 24]);
    const times = pages.flatMap((p) => p.edges.map((e) => Date.parse(e.node.createdAt)));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
  });

  it('filters by status, tag, author, search and creation time', async () => {
    const writer = await register(server);
    const a = await create(writer, { title: 'Revenue FORECAST', body: 'numbers', status: 'PUBLISHED', tags: ['Finance', 'q1'] });
    const b = await create(writer, { title: 'Hiring plan', body: 'The Forecast for hiring', status: 'DRAFT', tags: ['people'] });
    const c = await create(writer, { title: 'Archive', body: 'old stuff', status: 'ARCHIVED', tags: ['finance'] });
    const ids = async (filter: Record<string, unknown>) =>
      (await allPages(analyst, { ...filter, authorId: writer.user.id }, 2)).flatMap((p) => p.edges.map((e) => e.node.id));

    expect(await ids({})).toEqual([c.id, b.id, a.id]);
    expect(await ids({ status: 'PUBLISHED' })).toEqual([a.id]);
    expect(await ids({ tag: 'FINANCE' })).toEqual([c.id, a.id]);
    expect(await ids({ search: 'forecast' })).toEqual([b.id, a.id]);
    expect(await ids({ search: 'FoReCaSt', status: 'DRAFT' })).toEqual([b.id]);
    expect(await ids({ search: 'nothing like this' })).toEqual([]);
    // Every character of a search is literal on both databases: `_` and `%` are no wildcards.
    expect(await ids({ search: 'e_a' })).toEqual([]);
    expect(await ids({ search: '%' })).toEqual([]);
    expect(await ids({ createdAfter: b.createdAt })).toEqual([c.id, b.id]);
    expect(await ids({ createdBefore: b.createdAt })).toEqual([a.id]);
    expect(await ids({ createdAfter: b.createdAt, createdBefore: c.createdAt })).toEqual([b.id]);
    const filtered = await list(analyst, { first: 1, filter: { authorId: writer.user.id, tag: 'finance' } });
    expect(filtered.totalCount).toBe(2);
    expect(filtered.pageInfo.hasNextPage).toBe(true);
  });

  it('keeps the tag filter in step with every create, retag and delete, case-insensitively beyond ASCII', async () => {
    const writer = await register(server);
    const ids = async (tag: string) => (await allPages(analyst, { tag, authorId: writer.user.id }, 5)).flatMap((p) => p.edges.map((e) => e.node.id));
    const report = await create(writer, { title: 'Tagged', tags: ['Ärger', 'OPS', 'ops', 'Straße'] });
    expect(report.tags).toEqual(['Ärger', 'OPS', 'Straße']);
    expect(await ids('äRGER')).toEqual([report.id]);
    expect(await ids('Ops')).toEqual([report.id]);
    expect(await ids('STRASSE')).toEqual([]); // lower-casing, not case folding

    const retag = (input: Record<string, unknown>) => server.gql(UPDATE, { id: report.id, input }, { token: writer.accessToken });
    expect((await retag({ tags: ['Ops', 'Neu'] })).body.errors).toBeUndefined();
    expect(await ids('ärger')).toEqual([]);
    expect(await ids('neu')).toEqual([report.id]);
    expect(await ids('ops')).toEqual([report.id]);
    // An update without tags leaves them alone.
    expect((await retag({ title: 'Renamed' })).body.errors).toBeUndefined();
    expect(await ids('NEU')).toEqual([report.id]);
    expect((await retag({ tags: [] })).body.errors).toBeUndefined();
    expect(await ids('neu')).toEqual([]);

    const tagged = await create(writer, { title: 'Gone soon', tags: ['ephemeral'] });
    expect(await ids('ephemeral')).toEqual([tagged.id]);
    await server.gql(DELETE, { id: tagged.id }, { token: writer.accessToken });
    expect(await ids('ephemeral')).toEqual([]);
  });

  it('gives the trigram index only the rarest trigrams or word, and still matches every word exactly', async () => {
    const writer = await register(server);
    const texts: Array<{ title: string; body: string }> = [
      ...Array.from({ length: 12 }, (_, i) => ({ title: `Common report ${i}`, body: `common words, report number ${i * 7}` })),
      { title: 'Report 4242', body: 'the one with the rare number' },
      { title: 'Café NAÏVE', body: '😀😀😀 Straße' },
      { title: 'Quotes', body: 'say "quoted" here, 50% of_it' },
    ];
    const created: Array<{ id: string; title: string; body: string }> = [];
    for (const text of texts) created.push({ ...text, id: (await create(writer, text)).id });
    const ids = async (search: string) => (await allPages(writer, { search }, 50)).flatMap((p) => p.edges.map((e) => e.node.id)).sort();
    // What a search means, independently of any index: every word a substring of the lower-cased text.
    const expected = (search: string) => {
      const words = search.toLowerCase().split(/\s+/u).filter(Boolean);
      return created.filter((r) => words.every((w) => `${r.title}\n${r.body}`.toLowerCase().includes(w))).map((r) => r.id).sort();
    };
    const terms = ['report 4242', 'REPORT', 'common report 1', 'number 4242', 'café', 'NAÏVE straße', '😀😀', '😀😀😀', '"quo', '"quoted"', '50%', 'f_i', 'of', 're po', 'common zzz'];
    for (const term of terms) expect({ term, ids: await ids(term) }).toEqual({ term, ids: expected(term) });
    expect(await ids('report 4242')).toHaveLength(1);

    // A trigram in no report is counted as such and remembered; a report holding it later is found all the same.
    expect(await ids('zqxj report')).toEqual([]);
    const late = await create(writer, { title: 'Late report', body: 'zqxj' });
    expect(await ids('zqxj report')).toEqual([late.id]);
    expect((await list(writer, { first: 1, filter: { search: 'ZQXJ' } })).totalCount).toBe(1);
  });

  it('loads the authors of 100 reports with a small, fixed number of statements', async () => {
    const { db } = server.app.services;
    const authors = await Promise.all([register(server), register(server), register(server)]);
    await db.prisma.report.createMany({
      data: Array.from({ length: 120 }, (_, i) => ({ authorId: authors[i % 3]!.user.id, title: `bulk ${i}`, searchText: `bulk ${i}` })),
    });
    const query = `query($first: Int) { reports(first: $first) { totalCount edges { node { id author { id username } } } } }`;
    const statementsFor = async (first: number) => {
      const statements: string[] = [];
      const stop = db.onQuery((_ms, sql) => {
        if (!/AuditEvent/.test(sql)) statements.push(sql); // the audit writer flushes on its own timer
      });
      try {
        const res = await server.gql<{ reports: { edges: Array<{ node: { author: { id: string } } }> } }>(query, { first }, { token: analyst.accessToken });
        expect(res.body.data?.reports.edges).toHaveLength(first);
      } finally {
        stop();
      }
      return statements;
    };
    await statementsFor(1); // warm any per-session caches
    const one = await statementsFor(1);
    const hundred = await statementsFor(100);
    expect(hundred.length).toBe(one.length);
    // The page (whole rows, one statement), its count, and the page's authors.
    expect(hundred.length).toBeLessThanOrEqual(3);
  });

  it('counts the matches only when totalCount is asked for, directly or through fragments', async () => {
    const { db } = server.app.services;
    await create(alice, { title: 'Counted or not' });
    const countsFor = async (query: string) => {
      const statements: string[] = [];
      const stop = db.onQuery((_ms, sql) => statements.push(sql));
      try {
        const res = await server.gql<{ reports: { totalCount?: number; n?: number; edges: unknown[] } }>(query, undefined, { token: alice.accessToken });
        expect(res.body.errors).toBeUndefined();
        expect(res.body.data?.reports.edges.length).toBeGreaterThan(0);
        return { counted: statements.filter((sql) => /COUNT\(/i.test(sql)).length, data: res.body.data!.reports };
      } finally {
        stop();
      }
    };
    expect((await countsFor('{ reports(first: 1) { edges { node { id } } } }')).counted).toBe(0);
    const direct = await countsFor('{ reports(first: 1) { totalCount edges { node { id } } } }');
    expect(direct.counted).toBe(1);
    expect(direct.data.totalCount).toBeGreaterThan(0);
    const aliased = await countsFor('{ reports(first: 1) { n: totalCount edges { node { id } } } }');
    expect(aliased.data.n).toBe(direct.data.totalCount);
    const viaFragment = await countsFor('query { reports(first: 1) { ...Counted edges { node { id } } } } fragment Counted on ReportConnection { totalCount }');
    expect(viaFragment.data.totalCount).toBe(direct.data.totalCount);
    const viaInline = await countsFor('{ reports(first: 1) { ... on ReportConnection { totalCount } edges { node { id } } } }');
    expect(viaInline.data.totalCount).toBe(direct.data.totalCount);
  });

  it('on SQLite, a search by a USER starts from the trigram index, not from the author index', async () => {
    const { db } = server.app.services;
    if (db.provider !== 'sqlite') return; // PostgreSQL's planner weighs the GIN index by its statistics
    const condition = reportCondition({ search: 'forecast 4242' }, alice.user.id, 'sqlite');
    const page = reportPageSql(condition, 'sqlite', 21);
    const plan = await db.prisma.$queryRawUnsafe<Array<{ detail: string }>>(`EXPLAIN QUERY PLAN ${page.sql}`, ...page.args);
    const steps = plan.map((step) => step.detail).join(' | ');
    expect(steps).toContain('ReportSearch VIRTUAL TABLE');
    expect(steps).toMatch(/SEARCH r USING INTEGER PRIMARY KEY/);
    expect(steps).not.toContain('Report_authorId_createdAt_idx');
  });
});
