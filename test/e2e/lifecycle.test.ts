import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { openDatabase, type Database } from '../../src/db/database.js';
import { BuiltServer, operatorEnv, type RunMode } from '../helpers/builtServer.js';
import { createReportsUntilStopped, heldRequest } from '../helpers/load.js';
import { createStorage, register, skipSuite, type TestStorage } from '../helpers/server.js';

/*
 * The server's life as operators run it: `node dist/src/main.js` in a child process, in
 * production and development mode, stopped with real signals while real clients load it.
 */

const MODES: RunMode[] = ['production', 'development'];
/** Limits that would refuse a load test's own traffic are lifted; everything else is the default. */
const LOAD_LIMITS = { RATE_LIMIT_PER_MINUTE: '0', RATE_LIMITS: 'Mutation.createReport=1000000/60' };

/** The database a server used, opened from this process to check what it wrote. */
function openStorage(storage: TestStorage): Promise<Database> {
  return openDatabase({ databaseUrl: storage.env['DATABASE_URL'], dataDir: storage.env['DATA_DIR']! });
}

/** Every acknowledged report is stored, nothing else was created, and each has its SUCCESS audit row. */
async function expectEveryAcknowledgedMutationAudited(db: Database, tag: string, acknowledged: Map<string, string>): Promise<void> {
  const stored = await db.prisma.report.findMany({ where: { title: { startsWith: `${tag}-` } }, select: { id: true, title: true } });
  // Equal sets: no acknowledged create is missing, and no create ran whose answer was lost.
  expect(new Map(stored.map((r) => [r.title, r.id]))).toEqual(acknowledged);
  const audited = await db.prisma.auditEvent.findMany({
    where: { action: 'createReport', outcome: 'SUCCESS', targetId: { in: [...acknowledged.values()] } },
    select: { targetId: true },
  });
  expect(new Set(audited.map((a) => a.targetId))).toEqual(new Set(acknowledged.values()));
}

describe.skipIf(skipSuite()).each(MODES)('lifecycle, NODE_ENV=%s', (mode) => {
  let storage: TestStorage;
  beforeAll(async () => {
    storage = await createStorage();
  });
  afterAll(() => storage?.dispose());

  it('SIGTERM under load drains: in-flight requests finish, sockets get 1001, every acknowledged mutation is audited, exit 0', async () => {
    const server = await BuiltServer.start(operatorEnv(storage, mode, LOAD_LIMITS));
    const db = await openStorage(storage);
    try {
      const tokens = await Promise.all([1, 2, 3, 4, 5, 6].map(async () => (await register(server)).accessToken));
      const socket = new WebSocket(`${server.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
      await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
      socket.send(JSON.stringify({ type: 'connection_init', payload: {} }));
      const socketClosed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));

      const tag = `drain-${mode}-${randomBytes(3).toString('hex')}`;
      const load = createReportsUntilStopped(server.url, tokens, tag);
      await new Promise((r) => setTimeout(r, 1500));
      const held = await heldRequest(server.url);
      const exit = server.stop('SIGTERM');
      await new Promise((r) => setTimeout(r, 300));
      const heldResponse = held.finish();

      expect(await exit).toBe(0);
      const outcome = await load.done;
      expect(await heldResponse).toMatch(/^HTTP\/1\.1 200[\s\S]*\{"data":\{"__typename":"Query"\}/); // development adds extensions.cost
      expect(await socketClosed).toBe(1001);
      expect(outcome.acknowledged.size).toBeGreaterThan(20);
      await expectEveryAcknowledgedMutationAudited(db, tag, outcome.acknowledged);
      expect(server.output()).toContain('"msg":"stopped"');
    } finally {
      server.kill();
      await db.close();
    }
  });

  it('SIGTERM while clients walk away mid-request: every report stored has its audit row, nothing spilled', async () => {
    const server = await BuiltServer.start(operatorEnv(storage, mode, LOAD_LIMITS));
    const db = await openStorage(storage);
    try {
      const tokens = await Promise.all([1, 2, 3, 4].map(async () => (await register(server)).accessToken));
      const tag = `walkaway-${mode}-${randomBytes(3).toString('hex')}`;
      // Clients that hang up a few ms after sending, as a load generator does when its run ends:
      // their requests are still being served, with no socket left for the server to wait on.
      let running = true;
      let sent = 0;
      const walkAway = async (token: string) => {
        while (running) {
          const body = JSON.stringify({ query: 'mutation($i: CreateReportInput!) { createReport(input: $i) { id } }', variables: { i: { title: `${tag}-${sent++}` } } });
          await fetch(`${server.url}/graphql`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
            body,
            signal: AbortSignal.timeout(1 + (sent % 8)),
          }).then((res) => res.text(), () => undefined);
        }
      };
      const clients = tokens.flatMap((token) => [walkAway(token), walkAway(token), walkAway(token)]);
      await new Promise((r) => setTimeout(r, 1500));
      const exit = server.stop('SIGTERM');
      await new Promise((r) => setTimeout(r, 50));
      running = false;
      await Promise.all(clients);
      expect(await exit).toBe(0);

      const stored = await db.prisma.report.findMany({ where: { title: { startsWith: `${tag}-` } }, select: { id: true } });
      expect(stored.length).toBeGreaterThan(10);
      const audited = await db.prisma.auditEvent.findMany({
        where: { action: 'createReport', outcome: 'SUCCESS', targetId: { in: stored.map((r) => r.id) } },
        select: { targetId: true },
      });
      expect(new Set(audited.map((a) => a.targetId))).toEqual(new Set(stored.map((r) => r.id)));
      // The database never went away: nothing may have been set aside in the spill file.
      expect(server.output()).not.toContain('spill');
    } finally {
      server.kill();
      await db.close();
    }
  });

  it('a second SIGTERM and a SIGINT during the drain do not cut it short', async () => {
    const server = await BuiltServer.start(operatorEnv(storage, mode));
    try {
      const held = await heldRequest(server.url);
      const exit = server.stop('SIGTERM');
      await new Promise((r) => setTimeout(r, 300));
      server.process.child.kill('SIGTERM');
      server.process.child.kill('SIGINT');
      await new Promise((r) => setTimeout(r, 500));
      expect(server.process.child.exitCode).toBeNull(); // still draining: the held request is in flight
      expect(await held.finish()).toMatch(/^HTTP\/1\.1 200/);
      expect(await exit).toBe(0);
      expect(server.output()).toContain('already draining');
    } finally {
      server.kill();
    }
  });

  it('only SHUTDOWN_TIMEOUT_MS forces an exit, logged with what was abandoned', async () => {
    const server = await BuiltServer.start(operatorEnv(storage, mode, { SHUTDOWN_TIMEOUT_MS: '1500' }));
    try {
      await heldRequest(server.url); // never finished
      expect(await server.stop('SIGTERM')).toBe(1);
      const line = server.logLines().find((l) => l['msg'] === 'shutdown timed out; exiting before the drain finished');
      expect(line?.['abandoned']).toMatchObject({ stage: 'finishing in-flight HTTP requests' });
    } finally {
      server.kill();
    }
  });
});
