// Security round 2 (issue 16): each attack of the black-box suite, run against the built server in
// production mode, on SQLite and on PostgreSQL.
import net from 'node:net';
import path from 'node:path';
import Sqlite from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BuiltServer, operatorEnv } from '../helpers/builtServer.js';
import { createStorage, errorCodes, LOGIN, loginAdmin, register, REGISTER, skipSuite, uniqueUser, type GqlServer, type Session, type TestStorage } from '../helpers/server.js';

const CREATE_REPORT = `mutation($input: CreateReportInput!) { createReport(input: $input) { id } }`;
const UPDATE_REPORT = `mutation($id: ID!, $input: UpdateReportInput!) { updateReport(id: $id, input: $input) { id } }`;
const DELETE_REPORT = `mutation($id: ID!) { deleteReport(id: $id) }`;
const SEARCH = `query($filter: ReportFilter, $first: Int) { reports(first: $first, filter: $filter) { totalCount edges { node { id } } } }`;
const CREATE_EXPORT = `mutation($input: CreateExportInput!) { createExport(input: $input) { id } }`;
const EXPORT = `query($id: ID!) { export(id: $id) { status downloadUrl } }`;

/** A production-mode built server on a database of its own. */
async function startProduction(env: Record<string, string> = {}): Promise<{ server: BuiltServer; storage: TestStorage }> {
  const storage = await createStorage();
  const server = await BuiltServer.start(operatorEnv(storage, 'production', env));
  return { server, storage };
}

async function stopProduction(running: { server: BuiltServer; storage: TestStorage } | undefined): Promise<void> {
  if (!running) return;
  await running.server.stop();
  await running.storage.dispose();
}

async function createReport(server: GqlServer, session: Session, input: Record<string, unknown>): Promise<string> {
  const res = await server.gql<{ createReport: { id: string } }>(CREATE_REPORT, { input }, { token: session.accessToken });
  if (!res.body.data?.createReport) throw new Error(JSON.stringify(res.body.errors));
  return res.body.data.createReport.id;
}

describe.skipIf(skipSuite())('security round 2 (production mode)', () => {
  describe('search: literal, bounded, full-text, and harmless to others', () => {
    let running: { server: BuiltServer; storage: TestStorage };
    let server: BuiltServer;
    let owner: Session;

    beforeAll(async () => {
      running = await startProduction();
      server = running.server;
      owner = await register(server);
    });
    afterAll(() => stopProduction(running));

    async function found(search: string): Promise<string[]> {
      const res = await server.gql<{ reports: { edges: Array<{ node: { id: string } }> } }>(
        SEARCH,
        { filter: { search }, first: 100 },
        { token: owner.accessToken },
      );
      if (!res.body.data) throw new Error(JSON.stringify(res.body.errors));
      return res.body.data.reports.edges.map((e) => e.node.id).sort();
    }

    it('matches every word as a literal, case-insensitive substring, the same on both databases', async () => {
      const percent = await createReport(server, owner, { title: 'Done: 100% of it', body: 'Quarterly NUMBERS' });
      const snake = await createReport(server, owner, { title: 'snake_case names', body: 'a "quoted" body; with * and \\ too' });
      const plain = await createReport(server, owner, { title: 'Plain report', body: 'nothing special here, 100 items' });

      expect(await found('%')).toEqual([percent]);
      expect(await found('_')).toEqual([snake]);
      expect(await found('e_c')).toEqual([snake]);
      expect(await found('0%')).toEqual([percent]);
      expect(await found('e%d')).toEqual([]); // `%` is no wildcard
      expect(await found('s_a')).toEqual([]); // nor is `_`
      expect(await found('"quoted"')).toEqual([snake]);
      expect(await found('* \\')).toEqual([snake]);
      expect(await found('NUMBERS quarter')).toEqual([percent]); // every word, in any order, any case
      expect(await found('100')).toEqual([percent, plain].sort());
      expect(await found('100 special')).toEqual([plain]);
      expect(await found('100 snake')).toEqual([]);
      expect(await found('of')).toEqual([percent]); // words shorter than the trigram index still match
      expect(await found('ers')).toEqual([percent]); // inside a word
      expect(await found('  ')).toEqual([percent, snake, plain].sort()); // no words: no search filter
    });

    it('keeps the index in step with updates and deletes', async () => {
      const id = await createReport(server, owner, { title: 'zebra crossing', body: 'stripes' });
      expect(await found('zebra')).toEqual([id]);
      await server.gql(UPDATE_REPORT, { id, input: { title: 'giraffe crossing' } }, { token: owner.accessToken });
      expect(await found('zebra')).toEqual([]);
      expect(await found('giraffe stripes')).toEqual([id]);
      await server.gql(UPDATE_REPORT, { id, input: { body: 'spots' } }, { token: owner.accessToken });
      expect(await found('giraffe stripes')).toEqual([]);
      expect(await found('giraffe spots')).toEqual([id]);
      await server.gql(DELETE_REPORT, { id }, { token: owner.accessToken });
      expect(await found('giraffe')).toEqual([]);
    });

    it('bounds the term: BAD_USER_INPUT naming filter.search, for lists and for exports', async () => {
      const longTerm = '_'.repeat(12_000);
      const listed = await server.gql(SEARCH, { filter: { search: longTerm } }, { token: owner.accessToken });
      expect(errorCodes(listed.body)).toEqual(['BAD_USER_INPUT']);
      expect(listed.body.errors?.[0]?.extensions?.['field']).toBe('filter.search');
      const manyWords = await server.gql(SEARCH, { filter: { search: 'a b c d e f g h i' } }, { token: owner.accessToken });
      expect(manyWords.body.errors?.[0]?.extensions?.['field']).toBe('filter.search');
      const exported = await server.gql(CREATE_EXPORT, { input: { kind: 'REPORTS', format: 'CSV', filter: { search: longTerm } } }, { token: owner.accessToken });
      expect(errorCodes(exported.body)).toEqual(['BAD_USER_INPUT']);
      expect(exported.body.errors?.[0]?.extensions?.['field']).toBe('filter.search');
      expect(await found('_'.repeat(100))).toEqual([]); // at the bound: accepted
    });
  });

  describe('CSV exports: quoting and formula neutralisation for every piece a spreadsheet splits out', () => {
    let running: { server: BuiltServer; storage: TestStorage };

    beforeAll(async () => {
      running = await startProduction();
    });
    afterAll(() => stopProduction(running));

    it('exports `sc;=1+1` quoted and neutralised, and every other separator-borne formula too', async () => {
      const { server } = running;
      const user = await register(server);
      const id = await createReport(server, user, { title: 'sc;=1+1', body: 'x,@SUM(A1)\n-2;+3\tcmd', tags: ['=t'] });
      const created = await server.gql<{ createExport: { id: string } }>(CREATE_EXPORT, { input: { kind: 'REPORTS', format: 'CSV' } }, { token: user.accessToken });
      const exportId = created.body.data!.createExport.id;
      let downloadUrl: string | null = null;
      for (let i = 0; i < 200 && !downloadUrl; i++) {
        const res = await server.gql<{ export: { status: string; downloadUrl: string | null } }>(EXPORT, { id: exportId }, { token: user.accessToken });
        downloadUrl = res.body.data?.export.downloadUrl ?? null;
        if (!downloadUrl) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const text = await (await fetch(downloadUrl!)).text();
      const row = text.split('\r\n')[1]!;
      expect(row.startsWith(`${id},"sc;'=1+1",DRAFT,"[""=t""]",`)).toBe(true);
      expect(row).toContain(`"x,'@SUM(A1)\n'-2;'+3\tcmd"`);
      // Split the way a careless importer would, on every separator and line break, quotes ignored:
      // no piece starts like a formula.
      const pieces = text.replace(/"/g, '').split(/[,;\t\r\n]/);
      expect(pieces.filter((piece) => /^[=+\-@]/.test(piece))).toEqual([]);
    });
  });

  describe('/metrics resists guessing', () => {
    let running: { server: BuiltServer; storage: TestStorage };

    beforeAll(async () => {
      running = await startProduction({ AUTO_BLOCK_THRESHOLD: '10' });
    });
    afterAll(() => stopProduction(running));

    it('counts wrong tokens as security events: the guessing IP is blocked, the right token included', async () => {
      const { server } = running;
      const metrics = (token: string) => fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      const rightToken = server.env['METRICS_TOKEN']!;
      expect((await metrics(rightToken)).status).toBe(200);
      for (let i = 0; i <= 10; i++) expect((await metrics(`guess-${i}`)).status).toBe(401); // one past the threshold
      // The block is taken asynchronously after the event that crosses the threshold.
      let blocked = 0;
      for (let i = 0; i < 50 && blocked !== 403; i++) {
        blocked = (await metrics(rightToken)).status;
        if (blocked !== 403) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(blocked).toBe(403);
      expect((await fetch(`${server.url}/health`)).status).toBe(403);
    });
  });

  describe('slow clients are cut off', () => {
    let running: { server: BuiltServer; storage: TestStorage };

    beforeAll(async () => {
      running = await startProduction({ REQUEST_TIMEOUT_MS: '3000', HEADERS_TIMEOUT_MS: '2000' });
    });
    afterAll(() => stopProduction(running));

    /**
     * Opens a raw connection, writes `head`, then one byte of `drip` every 300 ms, for at most
     * 20 s. Resolves with what the server answered once it closed the connection, or null when it
     * never did.
     */
    function trickle(head: string, drip: string): Promise<string | null> {
      const { port } = new URL(running.server.url);
      return new Promise((resolve) => {
        const socket = net.connect(Number(port), '127.0.0.1');
        let answer = '';
        let sent = 0;
        const timer = setInterval(() => {
          if (sent >= drip.length) return;
          socket.write(drip[sent++]!);
        }, 300);
        const giveUp = setTimeout(() => {
          clearInterval(timer);
          socket.destroy();
          resolve(null);
        }, 20_000);
        socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
        socket.on('error', () => undefined);
        socket.on('close', () => {
          clearInterval(timer);
          clearTimeout(giveUp);
          resolve(answer);
        });
        socket.write(head);
      });
    }

    it('closes a connection whose body trickles in, with 408', async () => {
      const head = `POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n`;
      const answer = await trickle(head, ' '.repeat(1000));
      expect(answer).not.toBeNull();
      expect(answer).toMatch(/^HTTP\/1\.1 408/);
      expect((await fetch(`${running.server.url}/health`)).status).toBe(200); // the server itself is fine
    }, 30_000);

    it('closes a connection whose headers trickle in', async () => {
      const answer = await trickle('GET /health HTTP/1.1\r\nHost: localhost\r\n', 'X-Slow: ' + 'a'.repeat(1000));
      expect(answer).not.toBeNull();
      expect(answer).toMatch(/^HTTP\/1\.1 408/);
    }, 30_000);
  });

  describe('anonymous limits stay anonymous; login failures are limited per account', () => {
    let running: { server: BuiltServer; storage: TestStorage };

    beforeAll(async () => {
      // Behind a trusted proxy, so each request can come from an IP of the test's choosing.
      running = await startProduction({ TRUSTED_PROXIES: '127.0.0.1' });
    });
    afterAll(() => stopProduction(running));

    const from = (ip: string, token?: string) => ({ headers: { 'x-forwarded-for': ip }, ...(token ? { token } : {}) });

    it('keeps the per-IP register limit whatever access token the request carries', async () => {
      const { server } = running;
      let last: Session | undefined;
      for (let i = 0; i < 10; i++) {
        const res = await server.gql<{ register: Session }>(REGISTER, { input: uniqueUser('reg') }, from('203.0.113.10'));
        expect(res.body.errors).toBeUndefined();
        last = res.body.data!.register;
      }
      const anonymous = await server.gql(REGISTER, { input: uniqueUser('reg') }, from('203.0.113.10'));
      expect(errorCodes(anonymous.body)).toEqual(['RATE_LIMITED']);
      const withToken = await server.gql(REGISTER, { input: uniqueUser('reg') }, from('203.0.113.10', last!.accessToken));
      expect(errorCodes(withToken.body)).toEqual(['RATE_LIMITED']);
      // Another IP still may.
      const elsewhere = await server.gql(REGISTER, { input: uniqueUser('reg') }, from('203.0.113.11', last!.accessToken));
      expect(elsewhere.body.errors).toBeUndefined();
    });

    it('locks an account after 5 failures across its e-mail and username, from any IP', async () => {
      const { server } = running;
      const victim = uniqueUser('victim');
      expect((await server.gql(REGISTER, { input: victim }, from('203.0.113.20'))).body.errors).toBeUndefined();
      const attempt = (loginName: string, password: string, ip: string) => server.gql(LOGIN, { input: { login: loginName, password } }, from(ip));
      // 3 guesses by e-mail, 2 by username (mixed case), each (IP, login) pair well under its own 5.
      for (const ip of ['198.51.100.1', '198.51.100.2', '198.51.100.3']) {
        expect(errorCodes((await attempt(victim.email, 'wrong-password-1', ip)).body)).toEqual(['UNAUTHENTICATED']);
      }
      for (const ip of ['198.51.100.4', '198.51.100.5']) {
        expect(errorCodes((await attempt(victim.username.toUpperCase(), 'wrong-password-2', ip)).body)).toEqual(['UNAUTHENTICATED']);
      }
      // The account's allowance is spent: even the right password, by either name, from a new IP.
      expect(errorCodes((await attempt(victim.email, victim.password, '198.51.100.6')).body)).toEqual(['RATE_LIMITED']);
      expect(errorCodes((await attempt(victim.username, victim.password, '198.51.100.7')).body)).toEqual(['RATE_LIMITED']);
      // A name that belongs to no account behaves alike (no enumeration through the lockout).
      const ghost = `ghost-${Date.now()}@example.com`;
      for (let i = 0; i < 5; i++) expect(errorCodes((await attempt(ghost, 'wrong-password-3', `198.51.100.${10 + i}`)).body)).toEqual(['UNAUTHENTICATED']);
      expect(errorCodes((await attempt(ghost, 'wrong-password-3', '198.51.100.20')).body)).toEqual(['RATE_LIMITED']);
    });

    it('lets another account sign in from an IP that guessed at a locked one', async () => {
      const { server } = running;
      const other = await register(server, uniqueUser('other'));
      const res = await server.gql<{ login: Session }>(LOGIN, { input: { login: other.user.email, password: other.password } }, from('198.51.100.1'));
      expect(res.body.data?.login.user.id).toBe(other.user.id);
    });
  });

  describe('stored JSON: bounded at input, and one bad stored value fails only its own field', () => {
    let running: { server: BuiltServer; storage: TestStorage };

    beforeAll(async () => {
      running = await startProduction();
    });
    afterAll(() => stopProduction(running));

    const nested = (depth: number) => JSON.parse(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`) as unknown;

    /** Writes `dataJson` straight into the database, around every check of the API. */
    async function poison(id: string, dataJson: string): Promise<void> {
      const url = running.storage.env['DATABASE_URL'];
      if (url) {
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        try {
          await client.query('UPDATE "Report" SET "dataJson" = $1 WHERE "id" = $2', [dataJson, id]);
        } finally {
          await client.end();
        }
        return;
      }
      const db = new Sqlite(path.join(running.storage.env['DATA_DIR']!, 'bastion.db'));
      try {
        db.prepare('UPDATE "Report" SET "dataJson" = ? WHERE "id" = ?').run(dataJson, id);
      } finally {
        db.close();
      }
    }

    it('refuses data nested too deep or with too many keys, naming the field, on create and update', async () => {
      const { server } = running;
      const owner = await register(server);
      const deep = await server.gql(CREATE_REPORT, { input: { title: 'deep', data: nested(4000) } }, { token: owner.accessToken });
      expect(errorCodes(deep.body)).toEqual(['BAD_USER_INPUT']);
      expect(deep.body.errors?.[0]?.extensions?.['field']).toBe('data');
      const wide = Object.fromEntries(Array.from({ length: 6000 }, (_, i) => [`k${i}`, 0]));
      const many = await server.gql(CREATE_REPORT, { input: { title: 'wide', data: wide } }, { token: owner.accessToken });
      expect(many.body.errors?.[0]?.extensions?.['field']).toBe('data');
      const id = await createReport(server, owner, { title: 'fine', data: nested(20) });
      const update = await server.gql(UPDATE_REPORT, { id, input: { data: nested(4000) } }, { token: owner.accessToken });
      expect(errorCodes(update.body)).toEqual(['BAD_USER_INPUT']);
      expect(update.body.errors?.[0]?.extensions?.['field']).toBe('data');
    });

    it('answers the owner and an ADMIN list with every other field when one stored value is poisoned', async () => {
      const { server } = running;
      const owner = await register(server);
      const healthy = await createReport(server, owner, { title: 'healthy', data: { ok: true } });
      const poisoned = await createReport(server, owner, { title: 'poisoned', data: { soon: 'deep' } });
      await poison(poisoned, `${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`);

      const own = await server.gql<{ report: { id: string; title: string; data: unknown } }>(
        `query($id: ID!) { report(id: $id) { id title data } }`,
        { id: poisoned },
        { token: owner.accessToken },
      );
      expect(own.status).toBe(200);
      expect(own.body.data?.report).toEqual({ id: poisoned, title: 'poisoned', data: null });
      expect(own.body.errors?.map((e) => e.path)).toEqual([['report', 'data']]);

      const admin = await loginAdmin(server);
      const listed = await server.gql<{ reports: { edges: Array<{ node: { id: string; title: string; data: unknown } }> } }>(
        `{ reports(first: 100) { edges { node { id title data } } } }`,
        undefined,
        { token: admin.accessToken },
      );
      expect(listed.status).toBe(200);
      const nodes = new Map(listed.body.data!.reports.edges.map((e) => [e.node.id, e.node]));
      expect(nodes.get(healthy)).toEqual({ id: healthy, title: 'healthy', data: { ok: true } });
      expect(nodes.get(poisoned)).toEqual({ id: poisoned, title: 'poisoned', data: null });
      expect(listed.body.errors?.map((e) => e.path?.at(-1))).toEqual(['data']);
      expect(errorCodes(listed.body)).toEqual(['INTERNAL_SERVER_ERROR']);
    });
  });
});
