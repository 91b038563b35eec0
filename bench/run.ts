// `npm run bench` — every benchmark in one run, on the embedded SQLite default, written to
// BENCHMARKS.md with the machine and date. The no-ORM comparison also runs on PostgreSQL, in a
// database created for the run on PG_ADMIN_URL's server (default postgres@127.0.0.1:5432) and
// dropped after it. `npm run bench -- --quick` is a short smoke run that
// writes to a temporary file unless --out is given. Figures are compared as ratios within the run.
// Every server is spawned with this process's own node (process.execPath), so the Node version in
// the report is the one measured: `scripts/with-node.sh 26.12.1 npm run bench -- --out "$PWD/BENCHMARKS.md"`
// runs it all on another tested version, with node_modules built for that version.
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createClient } from 'graphql-ws';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { openDatabase, sqliteFileOf } from '../src/db/database.js';
import { AuditSpillFile } from '../src/observability/auditSpillFile.js';
import { createPgDatabase, dropPgDatabase, pgUrlWithDatabase } from '../src/migrations/adapterFixes.js';
import { pgAdminUrl } from '../src/migrations/schemaEngine.js';
import { BASELINE_JWT_SECRET } from './baselines/common.js';
import { load, post, type LoadResult } from './load.js';
import { freePort, machineDescription, memoryOf, pinSelf, ROOT, sampleRss, startProcess, type RunningServer } from './servers.js';

const quick = process.argv.includes('--quick');
const outIndex = process.argv.indexOf('--out');
const outFile = outIndex > 0 ? path.resolve(process.argv[outIndex + 1]!) : quick ? path.join(os.tmpdir(), 'BENCHMARKS.quick.md') : path.join(ROOT, 'BENCHMARKS.md');

const SIZE = quick
  ? { seconds: 1, rounds: 1, roundSeconds: 1, connections: 20, reports: 1_000, exportRows: 2_000, subscribers: 50, loginBurst: 10 }
  : { seconds: 10, rounds: 5, roundSeconds: 6, connections: 50, reports: 10_000, exportRows: 100_000, subscribers: 1_000, loginBurst: 50 };

const ME_QUERY = { query: 'query Me { me { id email username role createdAt } }', operationName: 'Me' };
const TYPENAME = { query: '{ __typename }' };
const REPORTS_QUERY = {
  query: 'query Reports($first: Int) { reports(first: $first) { totalCount edges { cursor node { id title status tags createdAt author { id username } } } } }',
  variables: { first: 20 },
};
const CREATE_REPORT = { query: 'mutation($i: CreateReportInput!) { createReport(input: $i) { id } }', variables: { i: { title: 'Bench', body: 'x', tags: ['a', 'b'] } } };
/**
 * One query per limit at its default, each refused before anything runs, with the message it must
 * be refused with (checked before the load).
 */
const REFUSALS: Array<{ limit: string; stack: string; body: { query: string }; message: RegExp }> = [
  // Deeper than MAX_QUERY_DEPTH (10), and invalid besides.
  { limit: 'depth', stack: 'Bastion, refused: deeper than 10 levels', body: { query: `{ reports { edges { node { author { ${'a { '.repeat(8)}id${' }'.repeat(8)} } } } } }` }, message: /exceeds maximum operation depth of 10/ },
  // More than MAX_ALIASES (15).
  { limit: 'aliases', stack: 'Bastion, refused: 20 aliases (at most 15)', body: { query: `{ ${Array.from({ length: 20 }, (_, i) => `a${i}: me { id }`).join(' ')} }` }, message: /^Too many aliases/ },
  // Over MAX_QUERY_COST (10,000): 22 fragments, each spreading the next twice (two million fields once inlined).
  {
    limit: 'cost',
    stack: 'Bastion, refused: fragments expanding to 2M fields (at most 10,000)',
    body: { query: `{ ...F0 } ${Array.from({ length: 22 }, (_, i) => `fragment F${i} on Query { ${i === 21 ? 'me { id }' : `...F${i + 1} ...F${i + 1}`} }`).join(' ')}` },
    message: /^Query is too complex: its fragments expand/,
  },
  // More than MAX_TOKENS (2,000).
  { limit: 'tokens', stack: 'Bastion, refused: 2,100 tokens (at most 2,000)', body: { query: `{ me { ${'id '.repeat(2100)}} }` }, message: /more th[a-z]+ 2000 tokens/ },
];
const ADMIN = { email: 'bench-admin@example.com', password: 'bench-admin-password' };

interface Row {
  scenario: string;
  stack: string;
  result?: LoadResult;
  peakRssMb?: number;
  note?: string;
}
const rows: Row[] = [];
const ratios: string[] = [];
const targets: Array<{ target: string; value: string; met: boolean }> = [];

const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
const log = (...parts: unknown[]) => console.error('[bench]', ...parts);

/** Runs `work` while sampling the RSS of `pid`; the peak is the highest value seen meanwhile. */
async function withPeakRss<T>(pid: number, work: () => Promise<T>): Promise<{ value: T; peakRss: number }> {
  const stop = sampleRss(pid);
  try {
    const value = await work();
    return { value, peakRss: stop() };
  } catch (error) {
    stop();
    throw error;
  }
}

async function warmAndLoad(url: string, body: unknown, headers: Record<string, string> = {}, connections = SIZE.connections): Promise<LoadResult> {
  await load({ url, body, headers, connections, seconds: 3 }); // warm-up (JIT, caches)
  return load({ url, body, headers, connections, seconds: SIZE.seconds });
}

interface Contender {
  stack: string;
  url: string;
  pid: number;
  headers: Record<string, string>;
  /** Its own request, when contenders compared on one server send different ones. */
  body?: unknown;
}

/** Starts a baseline server (same SDL, constant `me`) and checks it answers the query. */
async function startBaseline(file: string, name: string, env: Record<string, string> = {}): Promise<RunningServer> {
  const port = await freePort();
  const server = await startProcess(name, ['--import', 'tsx', `bench/baselines/${file}`, String(port)], env, port);
  const check = await post(server.url, ME_QUERY);
  if (check.status !== 200) throw new Error(`${name} answered ${JSON.stringify(check.json)}`);
  return server;
}

/**
 * Loads every contender with the same query in turns (round robin, SIZE.rounds rounds) and keeps
 * each one's median round: machine drift during the run then weighs on all stacks alike.
 */
async function compare(scenario: string, contenders: Contender[], body: unknown): Promise<Map<string, LoadResult>> {
  for (const c of contenders) await load({ url: c.url, body: c.body ?? body, headers: c.headers, connections: SIZE.connections, seconds: 3 }); // warm-up
  const runs = new Map<string, LoadResult[]>(contenders.map((c) => [c.stack, []]));
  const peaks = new Map<string, number>();
  for (let round = 0; round < SIZE.rounds; round++) {
    for (const c of contenders) {
      const { value, peakRss } = await withPeakRss(c.pid, () => load({ url: c.url, body: c.body ?? body, headers: c.headers, connections: SIZE.connections, seconds: SIZE.roundSeconds }));
      runs.get(c.stack)!.push(value);
      peaks.set(c.stack, Math.max(peaks.get(c.stack) ?? 0, peakRss));
    }
  }
  const medians = new Map<string, LoadResult>();
  for (const c of contenders) {
    const sorted = [...runs.get(c.stack)!].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    medians.set(c.stack, median);
    rows.push({ scenario, stack: c.stack, result: median, peakRssMb: mb(peaks.get(c.stack)!), note: `median of ${SIZE.rounds} rounds` });
  }
  return medians;
}

async function startBastion(dataDir: string, extraEnv: Record<string, string> = {}): Promise<RunningServer> {
  const port = await freePort();
  return startProcess(
    'Bastion',
    ['dist/src/main.js'],
    {
      NODE_ENV: 'production',
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      JWT_SECRET: randomUUID() + randomUUID(),
      METRICS_TOKEN: randomUUID(),
      LOG_LEVEL: 'info', // the runner waits for the "listening" line
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      // Everything stays on; the limits are only raised so that the load itself is not refused.
      RATE_LIMIT_PER_MINUTE: '10000000',
      RATE_LIMITS: 'Mutation.createReport=100000000/60,Mutation.login=100000000/60,Mutation.register=100000/3600,Mutation.createExport=1000/3600',
      // The fan-out's subscribers all come from this one address.
      WS_MAX_CONNECTIONS_PER_IP: '100000',
      ...extraEnv,
    },
    port,
  );
}

async function signIn(url: string, login: string, password: string): Promise<string> {
  const res = await post(url, { query: 'mutation($i: LoginInput!) { login(input: $i) { accessToken } }', variables: { i: { login, password } } });
  if (!res.json.data?.login) throw new Error(`login failed: ${JSON.stringify(res.json)}`);
  return res.json.data.login.accessToken as string;
}

/** Where a Bastion under test keeps its data: DATABASE_URL when set, else SQLite in its DATA_DIR. */
interface DataLocation {
  dataDir: string;
  databaseUrl?: string;
}

/** Inserts reports straight into the database, in batches (seeding is not what is measured). */
async function seedReports({ dataDir, databaseUrl }: DataLocation, authorId: string, count: number): Promise<void> {
  const db = await openDatabase({ dataDir, databaseUrl });
  try {
    const existing = await db.prisma.report.count();
    const statuses = ['DRAFT', 'PUBLISHED', 'ARCHIVED'];
    for (let done = existing; done < count; ) {
      const batch = Math.min(1000, count - done);
      const base = Date.now() - (count - done) * 1000;
      await db.prisma.report.createMany({
        data: Array.from({ length: batch }, (_, i) => {
          const title = `Report ${done + i} =SUM(A1)`;
          const body = `Body of report ${done + i}, with a comma, and "quotes".`;
          return {
            authorId,
            title,
            body,
            searchText: `${title}\n${body}`.toLowerCase(),
            status: statuses[(done + i) % 3]!,
            tagsJson: JSON.stringify(['bench', `t${(done + i) % 10}`]),
            createdAt: new Date(base + i * 1000),
          };
        }),
      });
      done += batch;
    }
  } finally {
    await db.close();
  }
}

interface BastionUnderTest extends DataLocation {
  server: RunningServer;
  user: { email: string; password: string };
  userId: string;
  token: string;
  adminToken: string;
}

/** Bastion as built, with a signed-in USER and ADMIN. */
async function startBastionWithUsers(extraEnv: Record<string, string> = {}): Promise<BastionUnderTest> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bastion-bench-'));
  const server = await startBastion(dataDir, extraEnv);
  const user = { email: 'bench@example.com', username: 'bench', password: 'bench-password-123' };
  const registered = await post(server.url, { query: 'mutation($i: RegisterInput!) { register(input: $i) { user { id } } }', variables: { i: user } });
  return {
    server,
    dataDir,
    databaseUrl: extraEnv.DATABASE_URL,
    user,
    userId: registered.json.data.register.user.id as string,
    token: await signIn(server.url, user.email, user.password),
    adminToken: await signIn(server.url, ADMIN.email, ADMIN.password),
  };
}

/**
 * Refusing must cost less than serving: each refused query, on the same server, in turns with the
 * `Me` it is measured against.
 */
async function refusalsAgainstMe(url: string, pid: number, headers: Record<string, string>): Promise<void> {
  for (const refusal of REFUSALS) {
    const { json } = await post(url, refusal.body, headers);
    if (json.data !== undefined || !refusal.message.test(json.errors?.[0]?.message)) throw new Error(`${refusal.stack}: not refused by its ${refusal.limit} limit: ${JSON.stringify(json)}`);
  }
  const served = 'Bastion, served: `Me`';
  const results = await compare('a query refused before it runs, in turns with `Me` served', [
    { stack: served, url, pid, headers, body: ME_QUERY },
    ...REFUSALS.map((r) => ({ stack: r.stack, url, pid, headers, body: r.body })),
  ], ME_QUERY);
  const me = results.get(served)!;
  for (const refusal of REFUSALS) {
    const refused = results.get(refusal.stack)!;
    targets.push({ target: `refused by ${refusal.limit} ≥ 1.0× \`Me\`'s rate`, value: `${ratio(refused, me)}×`, met: refused.requestsPerSecond >= me.requestsPerSecond });
  }
}

/** Resident memory of a freshly started Bastion once start-up is over (embedded SQLite, nothing served yet). */
async function idleRssAfterStartUp(): Promise<void> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bastion-bench-'));
  const server = await startBastion(dataDir);
  try {
    await new Promise((resolve) => setTimeout(resolve, 3000)); // start-up's background work settles
    const idle = memoryOf(server.child.pid!).rss;
    rows.push({ scenario: 'idle, 3 s after start-up (embedded SQLite)', stack: 'Bastion', peakRssMb: mb(memoryOf(server.child.pid!).peak), note: `idle RSS ${mb(idle)} MB` });
    targets.push({ target: 'idle RSS after start-up ≤ 150 MB', value: `${mb(idle)} MB`, met: idle <= 150 * 1024 * 1024 });
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The scenarios only Bastion runs (they need its data, auth, subscriptions and exports). */
async function bastionScenarios({ server, dataDir, user, userId, token, adminToken }: BastionUnderTest): Promise<void> {
  const pid = server.child.pid!;
  const url = server.url;
  const auth = { authorization: `Bearer ${token}` };

  log('Bastion: refusals against Me, in turns');
  await refusalsAgainstMe(url, pid, auth);

  // `Reports(first: 20)` and `CreateReport` are measured against the no-ORM limit (noOrmComparison).

  log('Bastion: Login');
  const loginBody = { query: 'mutation($i: LoginInput!) { login(input: $i) { accessToken } }', variables: { i: { login: user.email, password: user.password } } };
  const { value: logins, peakRss: loginPeak } = await withPeakRss(pid, () => load({ url, body: loginBody, connections: 4, seconds: Math.max(2, SIZE.seconds / 2) }));
  rows.push({ scenario: '`Login` (argon2id)', stack: 'Bastion', result: logins, peakRssMb: mb(loginPeak), note: `${Math.round(logins.requestsPerSecond)} logins/s` });

  log('Bastion: Me during a login burst');
  // The burst: as many different users signing in at once (their accounts exist beforehand).
  const burstUsers = await Promise.all(
    Array.from({ length: SIZE.loginBurst }, async (_, i) => {
      const account = { email: `burst${i}@example.com`, username: `burst${i}`, password: 'burst-password-123' };
      await post(url, { query: 'mutation($i: RegisterInput!) { register(input: $i) { user { id } } }', variables: { i: account } });
      return account;
    }),
  );
  const { value: [meDuringBurst, burstOk], peakRss: burstPeak } = await withPeakRss(pid, async () => {
    const during = load({ url, body: ME_QUERY, headers: auth, connections: SIZE.connections, seconds: 4 });
    await new Promise((r) => setTimeout(r, 500));
    const burst = await Promise.all(
      burstUsers.map((account) =>
        post(url, { query: 'mutation($i: LoginInput!) { login(input: $i) { accessToken } }', variables: { i: { login: account.email, password: account.password } } }),
      ),
    );
    return [await during, burst.filter((r) => r.json.data?.login).length] as const;
  });
  rows.push({ scenario: `\`Me\` during a burst of ${SIZE.loginBurst} logins`, stack: 'Bastion', result: meDuringBurst, peakRssMb: mb(burstPeak), note: `${burstOk}/${SIZE.loginBurst} logins succeeded` });
  targets.push({ target: `other requests' p99 < 50 ms during a ${SIZE.loginBurst}-login burst`, value: `${meDuringBurst.p99} ms`, met: meDuringBurst.p99 < 50 });

  log(`Bastion: fan-out to ${SIZE.subscribers} subscribers`);
  const { value: fanOutMs, peakRss: fanOutPeak } = await withPeakRss(pid, () => fanOut(url, adminToken, SIZE.subscribers));
  rows.push({ scenario: `WebSocket fan-out: one alert to ${SIZE.subscribers.toLocaleString('en')} subscribers`, stack: 'Bastion', note: `last delivery after ${fanOutMs.toFixed(1)} ms`, peakRssMb: mb(fanOutPeak) });
  targets.push({ target: `fan-out to ${SIZE.subscribers} subscribers < 250 ms`, value: `${fanOutMs.toFixed(1)} ms`, met: fanOutMs < 250 });

  log(`Bastion: export of ${SIZE.exportRows} reports`);
  await seedReports({ dataDir }, userId, SIZE.exportRows);
  const exported = await exportAndDownload(url, token, pid);
  rows.push({
    scenario: `\`CreateExport\` + download of ${SIZE.exportRows.toLocaleString('en')} reports (CSV)`,
    stack: 'Bastion',
    note: `${(exported.ms / 1000).toFixed(2)} s, ${mb(exported.bytes)} MB file, RSS growth ${mb(exported.rssGrowth)} MB`,
    peakRssMb: mb(exported.peakRss),
  });
  targets.push({ target: `export of ${SIZE.exportRows} rows: peak RSS growth < 100 MB`, value: `${mb(exported.rssGrowth)} MB`, met: exported.rssGrowth < 100 * 1024 * 1024 });

  await searchScenarios(url, auth, pid);
}

const searchQuery = (term: string) => ({
  query: 'query Search($s: String) { reports(first: 20, filter: { search: $s }) { totalCount edges { node { id title } } } }',
  variables: { s: term },
});

/**
 * Full-text search over the reports seeded so far (SIZE.exportRows): a selective term through the
 * trigram index, then `Me` for everyone else while one client keeps running the costliest search
 * there is here, a word in every report, whose count must check all of them.
 */
async function searchScenarios(url: string, auth: Record<string, string>, pid: number): Promise<void> {
  const reports = SIZE.exportRows.toLocaleString('en');
  log(`Bastion: search over ${reports} reports`);
  const selective = await withPeakRss(pid, () => warmAndLoad(url, searchQuery('report 4242'), auth));
  rows.push({ scenario: `\`Reports(filter: {search: "report 4242"})\` over ${reports} reports`, stack: 'Bastion', result: selective.value, peakRssMb: mb(selective.peakRss) });

  let searching = true;
  let searches = 0;
  const searcher = (async () => {
    while (searching) {
      await post(url, searchQuery('report'), auth);
      searches++;
    }
  })();
  const { value: meDuringSearch, peakRss } = await withPeakRss(pid, () => load({ url, body: ME_QUERY, headers: auth, connections: SIZE.connections, seconds: SIZE.seconds }));
  searching = false;
  await searcher;
  rows.push({
    scenario: `\`Me\` while one client searches all ${reports} reports ("report")`,
    stack: 'Bastion',
    result: meDuringSearch,
    peakRssMb: mb(peakRss),
    note: `${searches} searches meanwhile`,
  });
  targets.push({ target: `others' p99 < 50 ms during the costliest search over ${reports} reports`, value: `${meDuringSearch.p99} ms`, met: meDuringSearch.p99 < 50 });

  await typicalSearch('SQLite', url, auth, pid);
  await typicalSearchOnPostgres();
}

/** Issue 18: a typical search at a modest load. */
const SEARCH_CONNECTIONS = 10;

/** `Reports(filter: {search: "report 4242"})` over SIZE.exportRows reports at SEARCH_CONNECTIONS connections, with its target. */
async function typicalSearch(database: DatabaseKind, url: string, auth: Record<string, string>, pid: number): Promise<void> {
  const reports = SIZE.exportRows.toLocaleString('en');
  log(`${database}: search at ${SEARCH_CONNECTIONS} connections over ${reports} reports`);
  const { value, peakRss } = await withPeakRss(pid, () => warmAndLoad(url, searchQuery('report 4242'), auth, SEARCH_CONNECTIONS));
  rows.push({
    scenario: `\`Reports(filter: {search: "report 4242"})\` over ${reports} reports, ${database}`,
    stack: 'Bastion',
    result: value,
    peakRssMb: mb(peakRss),
    note: `${SEARCH_CONNECTIONS} connections`,
  });
  targets.push({ target: `search p99 < 50 ms at ${SEARCH_CONNECTIONS} connections over ${reports} reports, ${database}`, value: `${value.p99} ms`, met: value.p99 < 50 });
}

/**
 * The same on a fresh PostgreSQL database. Seeding is followed by ANALYZE, as autovacuum would
 * do in time (it may be off, as on the machine this was written on): without statistics the
 * planner guesses, e.g. joins the author's whole index to the trigram scan.
 */
async function typicalSearchOnPostgres(): Promise<void> {
  const pgDatabase = await temporaryPgDatabase();
  const bastion = await startBastionWithUsers({ DATABASE_URL: pgDatabase.url });
  try {
    log(`PostgreSQL: seeding ${SIZE.exportRows} reports`);
    await seedReports(bastion, bastion.userId, SIZE.exportRows);
    const db = await openDatabase(bastion);
    try {
      await db.prisma.$executeRawUnsafe('ANALYZE "Report"');
    } finally {
      await db.close();
    }
    await typicalSearch('PostgreSQL', bastion.server.url, { authorization: `Bearer ${bastion.token}` }, bastion.server.child.pid!);
  } finally {
    await bastion.server.stop();
    rmSync(bastion.dataDir, { recursive: true, force: true });
    await pgDatabase.drop();
  }
}

/**
 * What a Redis outage costs signed-in traffic: while invalidations cannot reach every instance,
 * the session and user cache lives 1 s instead of 30 s. Two instances on Redis, one whose Redis
 * is running and one whose Redis is down, serve `Me` in turns.
 */
async function redisOutageCost(): Promise<void> {
  const redisPort = await freePort();
  const redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const up = await startBastionWithUsers({ REDIS_URL: `redis://127.0.0.1:${redisPort}`, REDIS_PREFIX: `bench-${randomUUID()}:` });
  // Nothing listens there: this instance runs degraded from the start (in-process fallbacks, 1 s cache).
  const down = await startBastionWithUsers({ REDIS_URL: `redis://127.0.0.1:${await freePort()}` });
  try {
    const results = await compare('authenticated `Me`, Redis up vs. Redis down', [
      { stack: 'Bastion, Redis up', url: up.server.url, pid: up.server.child.pid!, headers: { authorization: `Bearer ${up.token}` } },
      { stack: 'Bastion, Redis down (auth cache 1 s)', url: down.server.url, pid: down.server.child.pid!, headers: { authorization: `Bearer ${down.token}` } },
    ], ME_QUERY);
    const [withRedis, withoutRedis] = [...results.values()] as [LoadResult, LoadResult];
    ratios.push(`Bastion \`Me\` with Redis down / with Redis up: ${ratio(withoutRedis, withRedis)}× (a Redis outage: in-process fallbacks and the 1 s revocation cache)`);
  } finally {
    await up.server.stop();
    await down.server.stop();
    redis.kill('SIGKILL');
    rmSync(up.dataDir, { recursive: true, force: true });
    rmSync(down.dataDir, { recursive: true, force: true });
  }
}

type DatabaseKind = 'SQLite' | 'PostgreSQL';

/** A fresh PostgreSQL database for one run (trust auth on PG_ADMIN_URL's server), dropped by `drop`. */
async function temporaryPgDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `bench_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  await createPgDatabase(pgAdminUrl(), name);
  return { url: pgUrlWithDatabase(pgAdminUrl(), name), drop: () => dropPgDatabase(pgAdminUrl(), name) };
}

/**
 * Reports created since seeding; the createReport SUCCESS audit rows in the database and in
 * Bastion's spill file (replayed at its next start, so not lost); other createReport outcomes,
 * which would explain a gap.
 */
async function auditedCreations(location: DataLocation): Promise<{ created: number; audited: number; spilled: number; others: string[] }> {
  const db = await openDatabase(location);
  try {
    const created = (await db.prisma.report.count()) - SIZE.reports;
    const outcomes = await db.prisma.auditEvent.groupBy({ by: ['outcome', 'code'], where: { action: 'createReport' }, _sum: { count: true } });
    const audited = outcomes.find((o) => o.outcome === 'SUCCESS')?._sum.count ?? 0;
    const others = outcomes.filter((o) => o.outcome !== 'SUCCESS').map((o) => `${o._sum.count} ${o.outcome} ${o.code ?? ''}`.trim());
    const spill = new AuditSpillFile(path.join(location.dataDir, 'audit-spill'));
    const spilled = spill
      .files()
      .flatMap((file) => spill.read(file) as Array<{ action: string; outcome: string }>)
      .filter((row) => row.action === 'createReport' && row.outcome === 'SUCCESS').length;
    return { created, audited, spilled, others };
  } finally {
    await db.close();
  }
}

const PAGE_CHECK = 'query($after: String) { reports(first: 20, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id title body status tags createdAt updatedAt author { id username } } } } }';

/** The first two pages, every field: the same rows give the same answer, or the two are not doing the same work. */
async function sameAnswers(database: DatabaseKind, [baseline, bastion]: Contender[]): Promise<void> {
  let after: string | null = null;
  for (let page = 1; page <= 2; page++) {
    const [expected, actual] = await Promise.all([baseline!, bastion!].map((c) => post(c.url, { query: PAGE_CHECK, variables: { after } }, c.headers)));
    const [wanted, got] = [JSON.stringify(expected!.json), JSON.stringify(actual!.json)];
    if (wanted !== got || !expected!.json.data) throw new Error(`page ${page} of Reports differs between the no-ORM baseline and Bastion on ${database}:\n${wanted}\n${got}`);
    after = expected!.json.data.reports.pageInfo.endCursor as string;
  }
}

/**
 * Bastion against the no-ORM limit (bench/baselines/noOrm.ts) on one database: a fresh Bastion
 * migrates it and SIZE.reports are seeded for its signed-in USER, then the baseline opens the same
 * database as that user and both serve `Reports(first: 20)` and `CreateReport` in turns. Bastion
 * keeps its full security; the baseline has none. Afterwards, with both stopped (Bastion drains
 * its audit buffer on the way out), every created report must have its audit row.
 */
async function noOrmComparison(database: DatabaseKind): Promise<void> {
  const pgDatabase = database === 'PostgreSQL' ? await temporaryPgDatabase() : undefined;
  const bastion = await startBastionWithUsers(pgDatabase ? { DATABASE_URL: pgDatabase.url } : {});
  let baseline: RunningServer | undefined;
  try {
    log(`${database}: seeding ${SIZE.reports} reports`);
    await seedReports(bastion, bastion.userId, SIZE.reports);
    const stack = `no-ORM limit: Apollo 5 on Fastify 5 + ${database === 'SQLite' ? 'better-sqlite3' : 'pg'} prepared statements, no security`;
    baseline = await startBaseline('noOrm.ts', stack, {
      BASELINE_VIEWER_ID: bastion.userId,
      ...(pgDatabase ? { BASELINE_DATABASE_URL: pgDatabase.url } : { BASELINE_SQLITE_FILE: sqliteFileOf(undefined, bastion.dataDir)! }),
    });
    const contenders: Contender[] = [
      { stack, url: baseline.url, pid: baseline.child.pid!, headers: {} },
      { stack: 'Bastion', url: bastion.server.url, pid: bastion.server.child.pid!, headers: { authorization: `Bearer ${bastion.token}` } },
    ];
    await sameAnswers(database, contenders);

    log(`${database}: Reports(first: 20), Bastion and the no-ORM limit in turns`);
    const reports = await compare(`\`Reports(first: 20)\` with authors, over ${SIZE.reports.toLocaleString('en')} reports, ${database}`, contenders, REPORTS_QUERY);
    log(`${database}: CreateReport, Bastion and the no-ORM limit in turns`);
    const creates = await compare(`\`CreateReport\` (+ its audit row), ${database}`, contenders, CREATE_REPORT);

    for (const [scenario, results] of [['`Reports(first: 20)`', reports], ['`CreateReport`', creates]] as const) {
      const value = ratio(results.get('Bastion')!, results.get(stack)!);
      ratios.push(`Bastion ${scenario} / no-ORM limit, ${database}: **${value}×**`);
      targets.push({ target: `Bastion ${scenario} ≥ 0.6× the no-ORM limit, ${database}`, value: `${value}×`, met: Number(value) >= 0.6 });
    }
  } finally {
    await baseline?.stop();
    await bastion.server.stop();
  }
  try {
    const { created, audited, spilled, others } = await auditedCreations(bastion);
    const extra = [spilled > 0 ? `${spilled} more in the spill file` : '', others.length > 0 ? `other outcomes: ${others.join(', ')}` : ''].filter(Boolean);
    const value = `${audited.toLocaleString('en')} rows for ${created.toLocaleString('en')} reports${extra.length > 0 ? ` (${extra.join('; ')})` : ''}`;
    targets.push({ target: `\`CreateReport\`, ${database}: one audit row per report created (both stacks)`, value, met: audited + spilled === created });
  } finally {
    rmSync(bastion.dataDir, { recursive: true, force: true });
    await pgDatabase?.drop();
  }
}

/**
 * What traces cost, and that leaving them off costs nothing: two instances, one without
 * OTEL_EXPORTER_OTLP_ENDPOINT (nothing of tracing is loaded) and one exporting every request's
 * spans to a collector stand-in in this process (it reads and drops each batch), serve `Me` in turns.
 */
async function tracingCost(): Promise<void> {
  const sink = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  const collector = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
  const off = await startBastionWithUsers({ OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '' });
  const on = await startBastionWithUsers({ OTEL_EXPORTER_OTLP_ENDPOINT: collector, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '' });
  try {
    const results = await compare('authenticated `Me`, tracing unset vs. on', [
      { stack: 'Bastion, tracing unset', url: off.server.url, pid: off.server.child.pid!, headers: { authorization: `Bearer ${off.token}` } },
      { stack: 'Bastion, tracing on (OTLP/HTTP protobuf)', url: on.server.url, pid: on.server.child.pid!, headers: { authorization: `Bearer ${on.token}` } },
    ], ME_QUERY);
    const [unset, traced] = [...results.values()] as [LoadResult, LoadResult];
    ratios.push(`Bastion \`Me\` with tracing on / tracing unset: ${ratio(traced, unset)}× (unset, nothing of tracing is loaded: compare the unset row with the main \`Me\` row)`);
  } finally {
    await off.server.stop();
    await on.server.stop();
    sink.close();
    rmSync(off.dataDir, { recursive: true, force: true });
    rmSync(on.dataDir, { recursive: true, force: true });
  }
}

/** Subscribes `count` graphql-ws clients to alertRaised, raises one alert, and times the last delivery. */
async function fanOut(url: string, adminToken: string, count: number): Promise<number> {
  const wsUrl = `${url.replace(/^http/, 'ws')}/graphql`;
  const clients = Array.from({ length: count }, () =>
    createClient({ url: wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${adminToken}` }, lazy: false, retryAttempts: 0 }),
  );
  let delivered = 0;
  let lastAt = 0;
  let allDelivered!: () => void;
  const done = new Promise<void>((resolve) => (allDelivered = resolve));
  const subscribed = clients.map(
    (client) =>
      new Promise<void>((resolve) => {
        client.on('connected', () => setTimeout(resolve, 0));
        client.subscribe(
          { query: 'subscription { alertRaised { id } }' },
          {
            next: () => {
              lastAt = performance.now();
              if (++delivered === count) allDelivered();
            },
            error: (error) => log('subscriber error', error),
            complete: () => undefined,
          },
        );
      }),
  );
  await Promise.all(subscribed);
  await new Promise((r) => setTimeout(r, 500)); // every subscribe message has reached the server
  const started = performance.now();
  const raised = await post(url, { query: 'mutation { raiseAlert(input: {severity: WARNING, kind: "BENCH", message: "fan-out"}) { id } }' }, { authorization: `Bearer ${adminToken}` });
  if (raised.json.errors) throw new Error(`raiseAlert failed: ${JSON.stringify(raised.json.errors)}`);
  await Promise.race([done, new Promise((r) => setTimeout(r, 10_000))]);
  await Promise.all(clients.map((c) => c.dispose()));
  if (delivered < count) throw new Error(`only ${delivered}/${count} subscribers got the alert`);
  return lastAt - started;
}

async function exportAndDownload(url: string, token: string, pid: number): Promise<{ ms: number; bytes: number; rssGrowth: number; peakRss: number }> {
  const auth = { authorization: `Bearer ${token}` };
  const before = memoryOf(pid).rss;
  const { value, peakRss } = await withPeakRss(pid, async () => {
    const started = performance.now();
    const created = await post(url, { query: 'mutation { createExport(input: {kind: REPORTS, format: CSV}) { id } }' }, auth);
    if (created.json.errors) throw new Error(`createExport failed: ${JSON.stringify(created.json.errors)}`);
    const id = created.json.data.createExport.id as string;
    let downloadUrl: string | null = null;
    while (!downloadUrl) {
      const res = await post(url, { query: 'query($id: ID!) { export(id: $id) { status downloadUrl rowCount } }', variables: { id } }, auth);
      const status = res.json.data?.export?.status;
      if (status === 'FAILED') throw new Error('export failed');
      downloadUrl = status === 'READY' ? res.json.data.export.downloadUrl : null;
      if (!downloadUrl) await new Promise((r) => setTimeout(r, 100));
    }
    const response = await fetch(downloadUrl);
    let bytes = 0;
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) bytes += chunk.length;
    return { ms: performance.now() - started, bytes };
  });
  return { ...value, rssGrowth: Math.max(0, peakRss - before), peakRss };
}

function ratio(a: LoadResult, b: LoadResult): string {
  return (a.requestsPerSecond / b.requestsPerSecond).toFixed(2);
}

function report(started: Date): string {
  const fmt = (n: number) => Math.round(n).toLocaleString('en');
  const lines = [
    '# Benchmarks',
    '',
    `Run with \`npm run bench\`${quick ? ' --quick (a smoke run: figures are not meaningful)' : ''} on ${started.toISOString().slice(0, 10)}.`,
    '',
    `- Machine: ${os.cpus().length} cores, ${mb(os.totalmem()) / 1024 > 1 ? `${Math.round(os.totalmem() / 1024 ** 3)} GiB` : `${mb(os.totalmem())} MB`}; ${machineDescription()}.`,
    `- Node ${process.version} for every server and the load generator; load by autocannon, ${SIZE.connections} connections, after a 3 s warm-up: ${SIZE.seconds} s per scenario;`,
    `  stacks compared on one query take ${SIZE.rounds} turns of ${SIZE.roundSeconds} s each, interleaved, and keep their median turn.`,
    '- Bastion runs as built (`dist/`), in production mode, on the embedded SQLite default (rows naming PostgreSQL: on a fresh',
    '  PostgreSQL database), with every security layer on (rate limits raised only so that the load is not refused).',
    '  Baselines serve the same SDL with a constant `me`. The no-ORM limit also serves `reports` and `createReport`: the',
    "  statements Bastion runs, as prepared statements on the same database, as Bastion's signed-in user, with no security.",
    '- The audit rows checked after `CreateReport` are counted once both servers have stopped (Bastion drains on SIGTERM).',
    '- Compare figures as ratios within this run: absolute numbers move with the machine.',
    '- Peak RSS is the highest resident set size of the server process, sampled every 20 ms while the scenario ran.',
    '',
    '| scenario | stack | requests/s | p50 ms | p99 ms | peak RSS MB | note |',
    '|---|---|---:|---:|---:|---:|---|',
    ...rows.map((r) =>
      `| ${r.scenario} | ${r.stack} | ${r.result ? fmt(r.result.requestsPerSecond) : ''} | ${r.result?.p50 ?? ''} | ${r.result?.p99 ?? ''} | ${r.peakRssMb ?? ''} | ${[r.note, r.result && (r.result.errors || r.result.non2xx) ? `${r.result.errors} errors, ${r.result.non2xx} non-2xx` : ''].filter(Boolean).join('; ')} |`,
    ),
    '',
    '## Ratios (same run)',
    '',
    ...ratios.map((r) => `- ${r}`),
    '',
    '## Targets',
    '',
    '| target | measured | met |',
    '|---|---|---|',
    ...targets.map((t) => `| ${t.target} | ${t.value} | ${t.met ? 'yes' : '**no**'} |`),
    '',
  ];
  return lines.join('\n');
}

async function main(): Promise<void> {
  const started = new Date();
  pinSelf();
  log('building dist/');
  execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });

  const typicalToken = await new SignJWT({ role: 'USER' }).setProtectedHeader({ alg: 'HS256' }).setSubject('bench').setExpirationTime('2h').sign(new TextEncoder().encode(BASELINE_JWT_SECRET));
  const baselineAuth = { authorization: `Bearer ${typicalToken}` };
  const STACK = {
    raw: 'raw `node:http`',
    express: 'Apollo 5 on Express 5, no security',
    typical: 'Apollo 5 on Express 5 + jose + shield + rate limit + depth limit',
    fastify: 'Apollo 5 on Fastify 5, no security',
    bastion: 'Bastion',
  };
  log('Bastion idle after start-up');
  await idleRssAfterStartUp();
  log('starting the baselines and Bastion');
  const baselines = [
    { stack: STACK.raw, server: await startBaseline('raw.ts', STACK.raw) },
    { stack: STACK.express, server: await startBaseline('apolloExpress.ts', STACK.express) },
    { stack: STACK.typical, server: await startBaseline('typicalSecured.ts', STACK.typical) },
    { stack: STACK.fastify, server: await startBaseline('apolloFastify.ts', STACK.fastify) },
  ];
  const bastion = await startBastionWithUsers();
  try {
    const contenders: Contender[] = [
      ...baselines.map(({ stack, server }) => ({ stack, url: server.url, pid: server.child.pid!, headers: baselineAuth })),
      { stack: STACK.bastion, url: bastion.server.url, pid: bastion.server.child.pid!, headers: { authorization: `Bearer ${bastion.token}` } },
    ];
    log('authenticated Me, every stack in turns');
    const meResults = await compare('authenticated `Me`', contenders, ME_QUERY);
    log('unauthenticated __typename');
    await compare('`{ __typename }` unauthenticated', contenders.filter((c) => c.stack === STACK.fastify || c.stack === STACK.bastion), TYPENAME);
    await Promise.all(baselines.map(({ server }) => server.stop()));

    await bastionScenarios(bastion);
    log('Me with Redis up and down');
    await redisOutageCost();
    for (const database of ['SQLite', 'PostgreSQL'] as const) {
      log(`Bastion and the no-ORM limit on ${database}`);
      await noOrmComparison(database);
    }
    log('Me with tracing unset and on');
    await tracingCost();

    const mePeak = (stack: string) => rows.find((r) => r.scenario === 'authenticated `Me`' && r.stack === stack)!.peakRssMb!;
    const [me, typical, fastify, express, raw] = [STACK.bastion, STACK.typical, STACK.fastify, STACK.express, STACK.raw].map((s) => meResults.get(s)!) as [LoadResult, LoadResult, LoadResult, LoadResult, LoadResult];
    ratios.push(`Bastion \`Me\` / typical secured stack: **${ratio(me, typical)}×**`);
    ratios.push(`Bastion \`Me\` / Apollo on Fastify, no security: **${ratio(me, fastify)}×**`);
    ratios.push(`Bastion \`Me\` / Apollo on Express, no security: **${ratio(me, express)}×**`);
    ratios.push(`Bastion \`Me\` / raw node:http: ${ratio(me, raw)}×`);
    ratios.push(`Apollo on Fastify / Apollo on Express (no security): ${ratio(fastify, express)}×`);
    targets.unshift(
      { target: 'Bastion `Me` ≥ 2.5× the typical secured stack', value: `${ratio(me, typical)}×`, met: me.requestsPerSecond >= 2.5 * typical.requestsPerSecond },
      { target: 'Bastion `Me` ≥ 1.0× bare Apollo on Fastify', value: `${ratio(me, fastify)}×`, met: me.requestsPerSecond >= fastify.requestsPerSecond },
      { target: 'Bastion `Me` p99 < 25 ms at 50 connections', value: `${me.p99} ms`, met: me.p99 < 25 },
      {
        target: 'peak RSS under the `Me` load ≤ 1.25× bare Apollo on Fastify',
        value: `${(mePeak(STACK.bastion) / mePeak(STACK.fastify)).toFixed(2)}× (${mePeak(STACK.bastion)} / ${mePeak(STACK.fastify)} MB)`,
        met: mePeak(STACK.bastion) <= 1.25 * mePeak(STACK.fastify),
      },
    );
  } finally {
    await Promise.all(baselines.map(({ server }) => server.stop()));
    await bastion.server.stop();
    rmSync(bastion.dataDir, { recursive: true, force: true });
  }

  writeFileSync(outFile, report(started));
  log(`wrote ${outFile}`);
  console.log(report(started));
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
