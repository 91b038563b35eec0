import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStorage, errorCodes, loginAdmin, register, skipSuite, TestServer, userWithRole, type Session } from '../helpers/server.js';

const CREATE_EXPORT = `mutation($input: CreateExportInput!) { createExport(input: $input) { id kind format status rowCount downloadUrl expiresAt createdAt } }`;
const EXPORT = `query($id: ID!) { export(id: $id) { id kind format status rowCount downloadUrl expiresAt createdAt } }`;
const CREATE_REPORT = `mutation($input: CreateReportInput!) { createReport(input: $input) { id } }`;

interface ExportNode {
  id: string;
  kind: string;
  format: string;
  status: string;
  rowCount: number | null;
  downloadUrl: string | null;
  expiresAt: string;
  createdAt: string;
}

/** A strict RFC 4180 reader: CRLF record ends, quoted fields with doubled quotes and embedded breaks. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let i = 0;
  while (i < text.length) {
    let field = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= text.length) throw new Error('unterminated quoted field');
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += text[i++];
      }
    } else {
      while (i < text.length && text[i] !== ',' && text[i] !== '\r') {
        if (text[i] === '\n' || text[i] === '"') throw new Error(`bare ${JSON.stringify(text[i])} at ${i}`);
        field += text[i++];
      }
    }
    record.push(field);
    if (text[i] === ',') {
      i++;
    } else if (text.startsWith('\r\n', i)) {
      records.push(record);
      record = [];
      i += 2;
    } else {
      throw new Error(`expected , or CRLF at ${i}`);
    }
  }
  if (record.length > 0) throw new Error('last record lacks CRLF');
  return records;
}

describe.skipIf(skipSuite())('exports', () => {
  let server: TestServer;
  let alice: Session;
  let bob: Session;
  let analyst: Session;
  let admin: Session;

  async function createExport(session: Session, input: Record<string, unknown>): Promise<ExportNode> {
    const res = await server.gql<{ createExport: ExportNode }>(CREATE_EXPORT, { input }, { token: session.accessToken });
    if (!res.body.data?.createExport) throw new Error(JSON.stringify(res.body.errors));
    return res.body.data.createExport;
  }

  async function readExport(session: Session, id: string, on = server): Promise<ExportNode> {
    const res = await on.gql<{ export: ExportNode }>(EXPORT, { id }, { token: session.accessToken });
    if (!res.body.data?.export) throw new Error(JSON.stringify(res.body.errors));
    return res.body.data.export;
  }

  /** Polls until the worker is done with it. */
  async function settled(session: Session, id: string, on = server): Promise<ExportNode> {
    for (let i = 0; i < 200; i++) {
      const current = await readExport(session, id, on);
      if (current.status !== 'PENDING') return current;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`export ${id} still PENDING`);
  }

  async function report(session: Session, input: Record<string, unknown>): Promise<string> {
    const res = await server.gql<{ createReport: { id: string } }>(CREATE_REPORT, { input }, { token: session.accessToken });
    if (!res.body.data?.createReport) throw new Error(JSON.stringify(res.body.errors));
    return res.body.data.createReport.id;
  }

  beforeAll(async () => {
    server = await TestServer.start({ RATE_LIMITS: 'Mutation.createExport=100/3600' });
    alice = await register(server);
    bob = await register(server);
    analyst = await userWithRole(server, 'ANALYST');
    admin = await loginAdmin(server);
  });
  afterAll(() => server.close());

  it('exports the caller’s own reports as RFC 4180 CSV with formulas neutralised', async () => {
    const tricky = await report(alice, {
      title: '=HYPERLINK("http://evil.example","click")',
      body: 'line one\r\nline "two", with comma\n-3+4',
      tags: ['@mention', 'plain'],
      data: { n: -1 },
    });
    const plain = await report(alice, { title: 'plain title', body: '+cmd', status: 'PUBLISHED' });
    await report(bob, { title: 'bob only' });

    const started = await createExport(alice, { kind: 'REPORTS', format: 'CSV' });
    expect(started).toMatchObject({ kind: 'REPORTS', format: 'CSV', status: 'PENDING', rowCount: null, downloadUrl: null });
    const ready = await settled(alice, started.id);
    expect(ready).toMatchObject({ status: 'READY', rowCount: 2 });
    expect(ready.downloadUrl).toMatch(new RegExp(`^${server.url}/exports/${started.id}/download\\?token=`));

    const res = await fetch(ready.downloadUrl!);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="reports-${started.id}.csv"`);
    const text = await res.text();
    const [header, ...rows] = parseCsv(text);
    expect(header).toEqual(['id', 'title', 'status', 'tags', 'authorId', 'createdAt', 'updatedAt', 'body', 'data']);
    const byId = new Map(rows.map((r) => [r[0], Object.fromEntries(header!.map((h, i) => [h, r[i]]))]));
    expect([...byId.keys()]).toEqual([plain, tricky]); // newest first, Bob's report excluded
    expect(byId.get(tricky)).toMatchObject({
      title: `'=HYPERLINK("http://evil.example","click")`,
      body: 'line one\r\nline "two", with comma\n\'-3+4',
      tags: '["@mention","plain"]',
      data: '{"n":-1}',
      authorId: alice.user.id,
    });
    expect(byId.get(plain)).toMatchObject({ title: 'plain title', body: `'+cmd`, status: 'PUBLISHED' });
    expect(text).toContain('"\'=HYPERLINK(""http://evil.example"",""click"")"');
  });

  it('exports everything an ANALYST may read, filtered, as one JSON array', async () => {
    const mine = await report(bob, { title: 'Filtered IN', status: 'ARCHIVED', tags: ['Export-Me'], data: { deep: [1, { x: 'y' }] } });
    await report(alice, { title: 'filtered out', status: 'ARCHIVED' });
    const done = await settled(analyst, (await createExport(analyst, { kind: 'REPORTS', format: 'JSON', filter: { status: 'ARCHIVED', tag: 'export-me' } })).id);
    expect(done).toMatchObject({ status: 'READY', rowCount: 1 });
    const res = await fetch(done.downloadUrl!);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('content-disposition')).toMatch(/\.json"$/);
    const rows = JSON.parse(await res.text()) as Array<Record<string, unknown>>;
    expect(rows).toEqual([
      expect.objectContaining({ id: mine, title: 'Filtered IN', status: 'ARCHIVED', tags: ['Export-Me'], data: { deep: [1, { x: 'y' }] }, authorId: bob.user.id }),
    ]);
  });

  it('streams a large export as NDJSON across batches and chunks, every row once', async () => {
    const { prisma } = server.app.services.db;
    const writer = await register(server);
    // One timestamp for all: the keyset must break ties by id across batch boundaries.
    const createdAt = new Date('2024-06-01T12:00:00.000Z');
    const body = 'x'.repeat(300);
    await prisma.report.createMany({
      data: Array.from({ length: 2500 }, (_, i) => ({ authorId: writer.user.id, title: `bulk ${i}`, body, createdAt })),
    });
    const done = await settled(admin, (await createExport(admin, { kind: 'REPORTS', format: 'NDJSON', filter: { authorId: writer.user.id } })).id);
    expect(done).toMatchObject({ status: 'READY', rowCount: 2500 });
    const res = await fetch(done.downloadUrl!);
    expect(res.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    const text = await res.text();
    expect(Number(res.headers.get('content-length'))).toBe(Buffer.byteLength(text));
    const lines = text.split('\n');
    expect(lines.pop()).toBe('');
    const rows = lines.map((line) => JSON.parse(line) as { id: string; title: string });
    expect(rows).toHaveLength(2500);
    expect(new Set(rows.map((r) => r.id)).size).toBe(2500);
    expect(new Set(rows.map((r) => r.title)).size).toBe(2500);
    // The file was stored in several pieces.
    expect(await prisma.exportChunk.count({ where: { exportId: done.id } })).toBeGreaterThan(1);
  });

  it('keeps answering other requests while a large export is produced', async () => {
    const { prisma } = server.app.services.db;
    const writer = await register(server);
    const rows = 20_000;
    for (let i = 0; i < rows; i += 5000) {
      await prisma.report.createMany({ data: Array.from({ length: 5000 }, (_, j) => ({ authorId: writer.user.id, title: `big ${i + j}`, body: 'b' })) });
    }
    const created = await createExport(admin, { kind: 'REPORTS', format: 'CSV', filter: { authorId: writer.user.id } });
    // Asked at once, this is answered between two batches. On SQLite every query resolves without
    // waiting for I/O: a producer that never yields would finish the whole export first.
    expect((await readExport(admin, created.id)).status).toBe('PENDING');
    expect(await settled(admin, created.id)).toMatchObject({ status: 'READY', rowCount: rows });
  });

  it('keeps AUDIT_LOG exports for ADMIN and every export to its creator', async () => {
    const denied = await server.gql(CREATE_EXPORT, { input: { kind: 'AUDIT_LOG', format: 'CSV' } }, { token: analyst.accessToken });
    expect(errorCodes(denied.body)).toEqual(['FORBIDDEN']);
    const withFilter = await server.gql(CREATE_EXPORT, { input: { kind: 'AUDIT_LOG', format: 'CSV', filter: { status: 'DRAFT' } } }, { token: admin.accessToken });
    expect(withFilter.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'filter' });

    const audit = await settled(admin, (await createExport(admin, { kind: 'AUDIT_LOG', format: 'NDJSON' })).id);
    expect(audit.status).toBe('READY');
    const lines = (await (await fetch(audit.downloadUrl!)).text()).trim().split('\n').map((l) => JSON.parse(l) as { action: string; outcome: string });
    expect(lines.length).toBe(audit.rowCount);
    expect(lines).toEqual(expect.arrayContaining([expect.objectContaining({ action: 'createReport', outcome: 'SUCCESS' })]));
    expect(lines).toEqual(expect.arrayContaining([expect.objectContaining({ action: 'createExport', outcome: 'DENIED' })]));

    for (const other of [alice, analyst]) {
      const res = await server.gql(EXPORT, { id: audit.id }, { token: other.accessToken });
      expect(errorCodes(res.body)).toEqual(['NOT_FOUND']);
    }
  });

  it('refuses tampered (403), expired (410) and not-ready (409) links', async () => {
    const { services } = server.app;
    const done = await settled(alice, (await createExport(alice, { kind: 'REPORTS', format: 'CSV' })).id);
    const url = new URL(done.downloadUrl!);
    const token = url.searchParams.get('token')!;

    const [head, payload, signature] = token.split('.') as [string, string, string];
    const flipped = `${head}.${payload}.${signature.slice(0, -2)}${signature.endsWith('AA') ? 'BB' : 'AA'}`;
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), uid: bob.user.id })).toString('base64url');
    const other = await settled(bob, (await createExport(bob, { kind: 'REPORTS', format: 'CSV' })).id);
    for (const bad of [
      `${server.url}/exports/${done.id}/download?token=${flipped}`,
      `${server.url}/exports/${done.id}/download?token=${head}.${forged}.${signature}`,
      `${server.url}/exports/${done.id}/download?token=${alice.accessToken}`,
      `${server.url}/exports/${done.id}/download`,
      `${server.url}/exports/${other.id}/download?token=${token}`, // a link works for its own export only
    ]) {
      const res = await fetch(bad);
      expect(res.status).toBe(403);
      expect(((await res.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]?.extensions.code).toBe('FORBIDDEN');
    }

    const expiredLink = await services.exports.links.sign({ exportId: done.id, creatorId: alice.user.id }, new Date(Date.now() - 1000));
    expect((await fetch(`${server.url}/exports/${done.id}/download?token=${expiredLink}`)).status).toBe(410);

    await services.db.prisma.export.update({ where: { id: done.id }, data: { status: 'FAILED' } });
    expect((await fetch(done.downloadUrl!)).status).toBe(409);
    await services.db.prisma.export.delete({ where: { id: done.id } });
    expect((await fetch(done.downloadUrl!)).status).toBe(404);
  });

  it('reads EXPIRED after its retention and is purged by maintenance', async () => {
    const { services } = server.app;
    const done = await settled(alice, (await createExport(alice, { kind: 'REPORTS', format: 'JSON' })).id);
    expect(Date.parse(done.expiresAt) - Date.parse(done.createdAt)).toBe(24 * 3600 * 1000);
    await services.db.prisma.export.update({ where: { id: done.id }, data: { expiresAt: new Date(Date.now() - 1) } });
    expect(await readExport(alice, done.id)).toMatchObject({ status: 'EXPIRED', downloadUrl: null });
    expect((await fetch(done.downloadUrl!)).status).toBe(410);

    const purge = await server.gql<{ runMaintenance: { ok: boolean } }>(
      `mutation { runMaintenance(task: PURGE_EXPIRED_EXPORTS) { ok } }`,
      {},
      { token: admin.accessToken },
    );
    expect(purge.body.data?.runMaintenance.ok).toBe(true);
    const gone = await server.gql(EXPORT, { id: done.id }, { token: alice.accessToken });
    expect(errorCodes(gone.body)).toEqual(['NOT_FOUND']);
    expect(await services.db.prisma.exportChunk.count({ where: { exportId: done.id } })).toBe(0);
  });

  it('limits createExport to 10 per hour per user by default', async () => {
    const limited = await TestServer.start();
    try {
      const user = await register(limited);
      const codes: unknown[] = [];
      for (let i = 0; i < 11; i++) {
        const res = await limited.gql(CREATE_EXPORT, { input: { kind: 'REPORTS', format: 'NDJSON' } }, { token: user.accessToken });
        codes.push(errorCodes(res.body)[0]);
      }
      expect(codes.slice(0, 10)).toEqual(Array(10).fill(undefined));
      expect(codes[10]).toBe('RATE_LIMITED');
    } finally {
      await limited.close();
    }
  });
});

describe.skipIf(skipSuite())('exports after a crash', () => {
  it('picks up PENDING exports at start and marks a broken one FAILED', async () => {
    const storage = await createStorage();
    try {
      const first = await TestServer.start({}, storage);
      const user = await register(first);
      await first.gql(CREATE_REPORT, { input: { title: 'survives' } }, { token: user.accessToken });
      // Rows as a crashed instance leaves them: PENDING, a partial chunk, nobody working on them.
      const { prisma } = first.app.services.db;
      const expiresAt = new Date(Date.now() + 3600_000);
      const scope = JSON.stringify({ filter: null, author: user.user.id });
      const orphan = await prisma.export.create({ data: { creatorId: user.user.id, kind: 'REPORTS', format: 'CSV', filterJson: scope, expiresAt } });
      await prisma.exportChunk.create({ data: { exportId: orphan.id, seq: 0, data: Buffer.from('partial garbage') } });
      const broken = await prisma.export.create({ data: { creatorId: user.user.id, kind: 'REPORTS', format: 'CSV', filterJson: '{not json', expiresAt } });
      await first.close();

      const second = await TestServer.start({}, storage);
      try {
        const session = { ...user, accessToken: (await second.gql<{ login: { accessToken: string } }>(`mutation($i: LoginInput!) { login(input: $i) { accessToken } }`, { i: { login: user.user.email, password: user.password } })).body.data!.login.accessToken };
        const poll = async (id: string) => {
          for (let i = 0; i < 200; i++) {
            const res = await second.gql<{ export: ExportNode }>(EXPORT, { id }, { token: session.accessToken });
            const current = res.body.data!.export;
            if (current.status !== 'PENDING') return current;
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
          throw new Error('still PENDING');
        };
        const recovered = await poll(orphan.id);
        expect(recovered).toMatchObject({ status: 'READY', rowCount: 1 });
        const rows = (await (await fetch(recovered.downloadUrl!)).text()).split('\r\n');
        expect(rows[0]).toMatch(/^id,title,/);
        expect(rows[1]).toContain('survives');
        expect(await poll(broken.id)).toMatchObject({ status: 'FAILED', downloadUrl: null });
      } finally {
        await second.close();
      }
    } finally {
      await storage.dispose();
    }
  });
});
