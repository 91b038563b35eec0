import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildClientSchema, getIntrospectionQuery, parse, validate, type IntrospectionQuery } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStorage, login, register, skipSuite, testEnv, TestServer, uniqueUser } from '../helpers/server.js';
import { BUILT_SERVER } from '../helpers/builtServer.js';
import { ROOT, spawnServer } from '../helpers/process.js';

const CONTRACT = path.join(ROOT, 'client', 'operations.graphql');
const SHARED_CONTRACT = path.join(ROOT, '..', 'shared', 'contract', 'operations.graphql');

describe.skipIf(skipSuite())('core: one port, schema, probes, persistence, lifecycle', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await TestServer.start();
  });
  afterAll(() => server.close());

  it('validates every contract operation against the served schema', async () => {
    const res = await server.gql<IntrospectionQuery>(getIntrospectionQuery());
    expect(res.body.errors).toBeUndefined();
    const schema = buildClientSchema(res.body.data!);
    const operations = parse(readFileSync(CONTRACT, 'utf8'));
    expect(validate(schema, operations).map((e) => e.message)).toEqual([]);
    expect(operations.definitions.length).toBeGreaterThan(30);
  });

  it.skipIf(!existsSync(SHARED_CONTRACT))('keeps its copy of the contract identical to the shared one', () => {
    expect(readFileSync(CONTRACT, 'utf8')).toBe(readFileSync(SHARED_CONTRACT, 'utf8'));
  });

  it('answers /health and /ready', async () => {
    const health = await fetch(`${server.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${server.url}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ok', database: 'ok' });
  });

  it('echoes a sane X-Request-Id and replaces an unsafe one', async () => {
    const kept = await fetch(`${server.url}/health`, { headers: { 'x-request-id': 'trace-1234-abcd' } });
    expect(kept.headers.get('x-request-id')).toBe('trace-1234-abcd');
    const replaced = await fetch(`${server.url}/health`, { headers: { 'x-request-id': 'bad id <script>' } });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('puts the request id in every error', async () => {
    const res = await server.gql('{ me { id } }', undefined, { headers: { 'x-request-id': 'req-err-12345' } });
    expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', requestId: 'req-err-12345' });
    const parseError = await server.gql('{ me { id ');
    expect(parseError.body.errors?.[0]?.extensions?.['requestId']).toBe(parseError.headers.get('x-request-id'));
  });
});

describe.skipIf(skipSuite())('core: persistence and process lifecycle', () => {
  it('keeps data across a restart', async () => {
    const storage = await createStorage();
    try {
      const user = uniqueUser();
      const first = await TestServer.start({}, storage);
      await register(first, user);
      await first.close();
      const second = await TestServer.start({}, storage);
      try {
        const session = await login(second, user.email, user.password);
        expect(session.user.username).toBe(user.username);
      } finally {
        await second.close();
      }
    } finally {
      await storage.dispose();
    }
  });

  it('fails fast at start on a bad configuration value, naming it', async () => {
    const storage = await createStorage();
    try {
      for (const [variable, value] of [
        ['PORT', 'not-a-port'],
        ['MAX_QUERY_DEPTH', '0'],
        ['JWT_SECRET', 'short'],
        ['DATABASE_URL', 'mysql://nope'],
      ] as const) {
        const proc = spawnServer({ ...testEnv(storage), LOG_LEVEL: 'info', [variable]: value });
        expect(await proc.exit).toBe(1);
        expect(proc.output()).toContain(variable);
      }
    } finally {
      await storage.dispose();
    }
  });
});

describe('start-up migrations of the built server', () => {
  // They run in a child process; what crosses back must still name the reason and stop start-up.
  it('a database they cannot migrate stops start-up with its reason, exit 1', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bastion-not-a-db-'));
    try {
      writeFileSync(path.join(dataDir, 'bastion.db'), 'not a SQLite database\n'.repeat(1000));
      const proc = spawnServer(
        { NODE_ENV: 'production', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', DATA_DIR: dataDir, JWT_SECRET: randomBytes(32).toString('hex'), METRICS_TOKEN: randomBytes(16).toString('hex') },
        BUILT_SERVER,
      );
      expect(await proc.exit).toBe(1);
      const fatal = proc.output().split('\n').find((line) => line.includes('"msg":"failed to start'));
      expect(fatal).toMatch(/not a database/);
      expect(proc.output()).not.toContain('"msg":"listening"');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
