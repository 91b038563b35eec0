import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { build, preview, type PreviewServer } from 'vite';
import { CHROMIUM } from './binaries.js';
import { ROOT } from './process.js';

/** Debian's chromium, headless, with nothing of its own reaching out to the network. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Uncaught page errors and console errors, as they happen. */
  problems: string[];
  close(): Promise<void>;
}

/** A fresh Chromium on an empty profile, with one page whose errors are collected. */
export async function launchChromium(): Promise<Browser> {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'bastion-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  const page = context.pages()[0] ?? (await context.newPage());
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  return {
    context,
    page,
    problems,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export const SAMPLE_ROOT = path.join(ROOT, 'client', 'sample');

export interface ServedPage {
  url: string;
  close(): Promise<void>;
}

/** `vite build client/sample` (as README says) into a temporary directory, served by `vite preview` on 127.0.0.1. */
export async function buildAndServeSample(): Promise<ServedPage> {
  const outDir = mkdtempSync(path.join(os.tmpdir(), 'bastion-sample-'));
  const inline = { root: SAMPLE_ROOT, configFile: path.join(SAMPLE_ROOT, 'vite.config.ts'), logLevel: 'warn' as const, build: { outDir, emptyOutDir: true } };
  await build(inline);
  const server: PreviewServer = await preview({ ...inline, preview: { host: '127.0.0.1', port: 0, strictPort: true } });
  const address = server.httpServer.address();
  if (!address || typeof address === 'string') throw new Error('vite preview did not listen on a port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: async () => {
      await server.close();
      rmSync(outDir, { recursive: true, force: true });
    },
  };
}

/** Waits for `selector`, failing at once with the page's message when an error is shown instead. */
export async function waitForView(page: Page, selector: string): Promise<void> {
  const shown = await page.waitForSelector(`${selector}, .error`, { timeout: 30_000 });
  if (await shown.evaluate((element) => element.classList.contains('error'))) {
    throw new Error(`the page shows an error: ${await shown.textContent()}`);
  }
}
