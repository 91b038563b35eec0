import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumAvailable } from '../helpers/binaries.js';
import { launchChromium, type Browser } from '../helpers/browser.js';
import { BuiltServer, operatorEnv } from '../helpers/builtServer.js';
import { createStorage, loginAdmin, skipSuite, type TestStorage } from '../helpers/server.js';
import { eventually } from '../helpers/wait.js';

/**
 * GraphiQL served by a development server from its own origin, in Chromium with the network cut
 * off: every request to anywhere but the server is aborted (and recorded, so an attempt fails the
 * test). It runs a query over HTTP and a subscription over graphql-ws.
 */
describe.skipIf(skipSuite() || !chromiumAvailable())('local GraphiQL, offline', () => {
  let storage: TestStorage;
  let server: BuiltServer;
  let browser: Browser;
  const outside: string[] = [];

  beforeAll(async () => {
    storage = await createStorage();
    server = await BuiltServer.start(operatorEnv(storage, 'development'));
    browser = await launchChromium();
    await browser.context.route('**/*', async (route) => {
      const url = route.request().url();
      if (url.startsWith(server.url) || url.startsWith('data:')) return route.continue();
      outside.push(url);
      return route.abort('internetdisconnected');
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    server?.kill();
    await storage?.dispose();
  });

  /** Opens GraphiQL with `query` in the editor and the admin's token in the headers editor, and runs it. */
  async function run(query: string, token: string) {
    const { page } = browser;
    await page.goto(`${server.url}/graphiql?query=${encodeURIComponent(query)}`);
    await page.getByText('Headers', { exact: true }).click();
    await page.locator('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror').click();
    await page.keyboard.insertText(JSON.stringify({ authorization: `Bearer ${token}` }));
    await page.locator('.graphiql-execute-button').click();
  }
  const response = () => browser.page.locator('.graphiql-response').textContent();

  it('runs a query', async () => {
    const admin = await loginAdmin(server);
    await run('query Who { me { email role } }', admin.accessToken);
    await browser.page.locator('.graphiql-response', { hasText: '"role": "ADMIN"' }).waitFor();
    expect(await response()).toContain('"email": "admin@example.com"');
    expect(outside).toEqual([]);
    expect(browser.problems).toEqual([]);
  });

  it('runs a subscription', async () => {
    const admin = await loginAdmin(server);
    await run('subscription Live { alertRaised { message severity } }', admin.accessToken);
    const activeSubscriptions = async () => {
      const text = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${server.env['METRICS_TOKEN']}` } })).text();
      return Number(/^bastion_graphql_active_subscriptions (\d+)/m.exec(text)?.[1] ?? 0);
    };
    await eventually(activeSubscriptions, (count) => count > 0);
    const message = `graphiql test ${randomUUID()}`;
    const raised = await server.gql(
      'mutation($input: RaiseAlertInput!) { raiseAlert(input: $input) { id } }',
      { input: { severity: 'WARNING', kind: 'GRAPHIQL_TEST', message } },
      { token: admin.accessToken },
    );
    expect(raised.body.errors).toBeUndefined();
    await browser.page.locator('.graphiql-response', { hasText: message }).waitFor();
    expect(outside).toEqual([]);
    expect(browser.problems).toEqual([]);
  });

  it('serves the page with a strict CSP of its own origin', async () => {
    const res = await fetch(`${server.url}/graphiql/`);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toMatch(/https?:|unsafe-inline|unsafe-eval/);
  });
});

describe.skipIf(skipSuite())('local GraphiQL in production', () => {
  it('is not served', async () => {
    const storage = await createStorage();
    const server = await BuiltServer.start(operatorEnv(storage, 'production'));
    try {
      const res = await fetch(`${server.url}/graphiql/`);
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).not.toMatch(/text\/html/);
    } finally {
      server.kill();
      await storage.dispose();
    }
  });
});
