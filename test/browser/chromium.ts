/**
 * Debian's Chromium driven by playwright-core (nothing downloads a browser): a fresh profile per
 * test file, and the flags that keep it off the (closed) network, whose connection attempts
 * would otherwise hang it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { inject } from 'vitest';
import type * as BrowserSdk from '../../sdk/browser.ts';

export const CHROMIUM = '/usr/bin/chromium';

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** What the test page (test/browser/global-setup.ts) puts on `window`. */
export interface TestWindow {
  readonly hashdrop: typeof BrowserSdk;
  /** The seeded file `/bytes/<seed>/<size>` as a Blob (test/browser/bytes.ts makes the same bytes). */
  seeded(seed: string, size: number): Promise<Blob>;
  readonly sdkReady?: boolean;
  [key: string]: unknown;
}

export interface Browser {
  readonly context: BrowserContext;
  /** A new tab on the test page (or another of the page server's, test/browser/global-setup.ts), once the SDK has loaded. */
  open(path?: string): Promise<Page>;
  close(): Promise<void>;
}

export async function launch(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'hashdrop-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS });
  const origin = inject('pageOrigin');
  return {
    context,
    async open(path = '/') {
      const page = await context.newPage();
      await page.goto(`${origin}${path}`);
      await page.waitForFunction(() => (window as unknown as TestWindow).sdkReady === true);
      return page;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
