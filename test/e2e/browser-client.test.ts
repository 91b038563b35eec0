import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumAvailable } from '../helpers/binaries.js';
import { buildAndServeSample, launchChromium, waitForView, type ServedPage } from '../helpers/browser.js';
import { BuiltServer, operatorEnv, type RunMode } from '../helpers/builtServer.js';
import { ROOT } from '../helpers/process.js';
import { ADMIN, createStorage, skipSuite } from '../helpers/server.js';
import { eventually } from '../helpers/wait.js';

const MANIFEST = path.join(ROOT, 'client', 'generated', 'persisted-query-manifest.json');
const manifest = JSON.parse(readFileSync(MANIFEST, 'utf8')) as { operations: Array<{ name: string; body: string }> };
/** A manifest document, so the test's own requests also run on a production server with trusted documents. */
const trusted = (name: string) => manifest.operations.find((op) => op.name === name)!.body;

interface SentRequest {
  query?: string;
  extensions?: { persistedQuery?: { sha256Hash?: string } };
}

/**
 * The sample client (client/sample, built with Vite as README says) in Debian's Chromium, against
 * the built server run as operators run it: a development server (automatic persisted queries) and
 * a production server with TRUSTED_DOCUMENTS from the codegen manifest. The same page, unchanged.
 */
describe.skipIf(skipSuite() || !chromiumAvailable())('the sample client in a real browser', () => {
  let page: ServedPage;
  beforeAll(async () => {
    page = await buildAndServeSample();
  }, 120_000);
  afterAll(() => page?.close());

  const modes: Array<{ mode: RunMode; env: Record<string, string> }> = [
    { mode: 'development', env: {} },
    { mode: 'production', env: { TRUSTED_DOCUMENTS: MANIFEST } },
  ];

  for (const { mode, env } of modes) {
    it(`signs in, shows me, lists and creates reports, and receives a live alert (${mode})`, async () => {
      const storage = await createStorage();
      const server = await BuiltServer.start(operatorEnv(storage, mode, { ...env, CORS_ORIGINS: page.url }));
      const browser = await launchChromium();
      const sent: SentRequest[] = [];
      browser.page.on('request', (request) => {
        if (request.url().startsWith(`${server.url}/graphql`) && request.method() === 'POST') sent.push(request.postDataJSON() as SentRequest);
      });
      try {
        const { page: tab } = browser;
        await tab.goto(`${page.url}/?api=${encodeURIComponent(server.url)}`);
        await tab.getByLabel('Login').fill(ADMIN.email);
        await tab.getByLabel('Password').fill(ADMIN.password);
        await tab.getByRole('button', { name: 'Sign in' }).click();

        await waitForView(tab, 'h1');
        expect(await tab.locator('h1').textContent()).toMatch(/^\S+ \(ADMIN\)$/);
        const totalBefore = Number((await tab.locator('.total').textContent())!.split(' ')[0]);

        await tab.getByRole('button', { name: 'New report' }).click();
        await tab.locator('.total', { hasText: new RegExp(`^${totalBefore + 1} reports$`) }).waitFor();
        expect(await tab.locator('li').allTextContents()).toContain('New report by admin · draft');

        // The page's subscription is running on the server before the alert is raised.
        const activeSubscriptions = async () => {
          const text = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${server.env['METRICS_TOKEN']}` } })).text();
          return Number(/^bastion_graphql_active_subscriptions (\d+)/m.exec(text)?.[1] ?? 0);
        };
        await eventually(activeSubscriptions, (count) => count > 0);
        const login = await server.gql<{ login: { accessToken: string } }>(trusted('Login'), { input: { login: ADMIN.email, password: ADMIN.password } });
        const message = `browser test ${randomUUID()}`;
        const raised = await server.gql(trusted('RaiseAlert'), { input: { severity: 'WARNING', kind: 'BROWSER_TEST', message } }, { token: login.body.data!.login.accessToken });
        expect(raised.body.errors).toBeUndefined();
        await tab.locator('.live-alert', { hasText: message }).waitFor();

        expect(await tab.locator('.error').count()).toBe(0);
        expect(browser.problems).toEqual([]);
        // Every HTTP operation went out by its persisted-query id; only a development server, not
        // knowing an id yet, was sent the document (once per operation, as APQ does).
        expect(sent.every((body) => body.extensions?.persistedQuery?.sha256Hash)).toBe(true);
        const withText = sent.filter((body) => body.query !== undefined);
        if (mode === 'production') expect(withText).toEqual([]);
        else expect(withText.length).toBeGreaterThan(0);
        expect(server.logLines().filter((line) => line['level'] === 'error' || line['level'] === 'fatal')).toEqual([]);
      } finally {
        await browser.close();
        server.kill();
        await storage.dispose();
      }
    }, 120_000);
  }
});
