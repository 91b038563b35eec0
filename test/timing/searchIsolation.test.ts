import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BuiltServer, operatorEnv } from '../helpers/builtServer.js';
import { createStorage, register, skipSuite, type GqlServer, type Session, type TestStorage } from '../helpers/server.js';

/*
 * Issue 16's bound, kept as the issue asks: while one client runs the worst search, other
 * clients' /health and `me` keep p99 under 50 ms. A latency bound measures the machine as much as
 * the server, so this file runs in a vitest project of its own, after every other test has finished
 * (vitest.config.ts, `sequence.groupOrder`), never beside another test file.
 */

const CREATE_REPORT = `mutation($input: CreateReportInput!) { createReport(input: $input) { id } }`;
const SEARCH = `query($filter: ReportFilter, $first: Int) { reports(first: $first, filter: $filter) { totalCount edges { node { id } } } }`;
const ME = `{ me { id } }`;

async function createReport(server: GqlServer, session: Session, input: Record<string, unknown>): Promise<string> {
  const res = await server.gql<{ createReport: { id: string } }>(CREATE_REPORT, { input }, { token: session.accessToken });
  if (!res.body.data?.createReport) throw new Error(JSON.stringify(res.body.errors));
  return res.body.data.createReport.id;
}

function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

describe.skipIf(skipSuite())('search cannot hurt other clients (production mode)', () => {
  let storage: TestStorage;
  let server: BuiltServer;
  beforeAll(async () => {
    storage = await createStorage();
    server = await BuiltServer.start(operatorEnv(storage, 'production'));
  });
  afterAll(async () => {
    await server?.stop();
    await storage?.dispose();
  });

  it('keeps /health and me under 50 ms p99 for others while one user runs the worst search', async () => {
    // Long bodies of one repeated character, with the match at the very end: every trigram of the
    // term is present, and the literal check must walk each body to its end. One report per page:
    // the cost measured is the search over all of them (totalCount), not loading a page.
    const attacker = await register(server);
    const body = `${'a'.repeat(99_990)}ba`;
    for (let i = 0; i < 30; i++) await createReport(server, attacker, { title: `worst ${i}`, body });
    const worstTerm = `${'a'.repeat(98)}ba`;
    const victim = await register(server);

    let attacking = true;
    let searches = 0;
    const attack = (async () => {
      while (attacking) {
        const res = await server.gql<{ reports: { totalCount: number } }>(SEARCH, { filter: { search: worstTerm }, first: 1 }, { token: attacker.accessToken });
        expect(res.body.data?.reports.totalCount).toBe(30);
        searches++;
      }
    })();
    const health: number[] = [];
    const me: number[] = [];
    try {
      // The first 20 rounds warm the victim's paths (JIT, token cache) and are not counted.
      for (let i = -20; i < 300; i++) {
        let started = performance.now();
        expect((await fetch(`${server.url}/health`)).status).toBe(200);
        if (i >= 0) health.push(performance.now() - started);
        started = performance.now();
        expect((await server.gql(ME, undefined, { token: victim.accessToken })).body.data).toBeTruthy();
        if (i >= 0) me.push(performance.now() - started);
      }
    } finally {
      attacking = false;
      await attack;
    }
    expect(searches).toBeGreaterThan(0); // the attack ran meanwhile
    expect(percentile(health, 99)).toBeLessThan(50);
    expect(percentile(me, 99)).toBeLessThan(50);
  }, 120_000);
});
