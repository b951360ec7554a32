import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { PROJECT_ROOT } from '../../src/config/index.js';

/** Debian's chromium (`npm test` as root installs it); playwright-core downloads no browser. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Long enough for a loaded CI machine; every wait ends as soon as its condition holds. */
export const UI_TIMEOUT_MS = 15_000;

export const RESULTS_DIR = path.join(PROJECT_ROOT, 'test-results');

/**
 * Browser suites call this at the top: a missing Chromium fails under CI=true, and elsewhere
 * skips the suite with a printed reason.
 */
export function chromiumForTests(): { available: boolean; reason: string } {
  if (existsSync(CHROMIUM_PATH)) return { available: true, reason: 'available' };
  const problem = `${CHROMIUM_PATH} is missing (Debian: apt-get install chromium)`;
  if (process.env.CI === 'true') throw new Error(`${problem}; CI requires it`);
  console.warn(`[skip] ${problem}`);
  return { available: false, reason: problem };
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export interface ShopPage {
  page: Page;
  /** Uncaught page errors and Content-Security-Policy violations: none is expected. */
  problems: string[];
  /** URLs of the WebSockets the page opened, in order. */
  sockets: string[];
}

export async function openShop(browser: Browser, url: string): Promise<ShopPage> {
  const page = await browser.newPage({ viewport: { width: 900, height: 1000 } });
  const problems: string[] = [];
  const sockets: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) problems.push(message.text());
  });
  page.on('websocket', (socket) => sockets.push(socket.url()));
  await page.goto(url);
  return { page, problems, sockets };
}

/** Picks quantities, pays, and waits for the payment's first status; returns its id. */
export async function checkout(page: Page, quantities: Record<string, number>): Promise<string> {
  for (const [sku, quantity] of Object.entries(quantities)) {
    await page.fill(`#qty-${sku}`, String(quantity));
  }
  await page.click('#pay');
  await page.waitForSelector('#status[data-status="pending"]', { timeout: UI_TIMEOUT_MS });
  return (await page.textContent('#tx-id')) ?? '';
}

/** What the page shows about the payment. */
export async function shown(page: Page) {
  const status = page.locator('#status');
  return {
    status: await status.getAttribute('data-status'),
    via: await status.getAttribute('data-via'),
    text: await status.textContent(),
    digest: await page.textContent('#digest'),
  };
}

export function waitForStatus(page: Page, status: string, via?: string): Promise<unknown> {
  const viaSelector = via ? `[data-via="${via}"]` : '';
  return page.waitForSelector(`#status[data-status="${status}"]${viaSelector}`, {
    timeout: UI_TIMEOUT_MS,
  });
}

/** A port free right now, for a service that must come back on the same one. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

export function resultPath(name: string): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  return path.join(RESULTS_DIR, name);
}
