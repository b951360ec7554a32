/**
 * Issue 6, item 4b: the built service restarted under a page that watches a pending payment.
 * SIGTERM closes the page's socket (1001) and the process exits; the same command on the same
 * port and data folder brings it back; the SDK in the page reconnects by itself, resumes with
 * `?since=`, and shows the settlement paid after the restart.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API } from '../support/http.js';
import { ensureBuilt, spawnService, type ServiceProcess } from '../support/process.js';
import { waitFor } from '../support/wait.js';
import {
  checkout,
  chromiumForTests,
  freePort,
  launchChromium,
  openShop,
  shown,
  waitForStatus,
} from './support.js';

const chromium = chromiumForTests();
/** A cold start (a new embedded database) on a busy two-core machine can take a while. */
const START_TIMEOUT_MS = 60_000;

/** Sockets the hub delivers live to, read from the service's /metrics. */
async function liveSockets(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const match = /^identipay_ws_sockets\{state="live"\} (\d+)$/m.exec(text);
  return Number(match?.[1] ?? 0);
}

describe.skipIf(!chromium.available)('demo page across a service restart', () => {
  let browser: Browser;
  let service: ServiceProcess | undefined;
  let dataDir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    ensureBuilt();
    dataDir = mkdtempSync(path.join(tmpdir(), 'ips-browser-'));
    // A fixed port, so that the restarted service is where the page's SDK reconnects to.
    env = { PORT: String(await freePort()), DATA_DIR: dataDir };
    [service, browser] = await Promise.all([spawnService(env, START_TIMEOUT_MS), launchChromium()]);
  }, START_TIMEOUT_MS + 30_000);
  afterAll(async () => {
    await browser?.close();
    if (service && service.child.exitCode === null) {
      service.child.kill('SIGTERM');
      await service.exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it(
    'reconnects with since after SIGTERM and a restart, and shows the later settlement',
    { timeout: START_TIMEOUT_MS + 30_000 },
    async () => {
      const first = service as ServiceProcess;
      const { page, problems, sockets } = await openShop(browser, first.url);
      const txId = await checkout(page, { espresso: 1, croissant: 1 });
      await waitForStatus(page, 'pending', 'websocket');

      first.child.kill('SIGTERM');
      expect(await first.exited, first.output()).toBe(0);
      service = await spawnService(env, START_TIMEOUT_MS);
      const second = service;
      expect(second.url).toBe(first.url);

      // The page's SDK comes back on its own (over the WebSocket, possibly after polling a while).
      await waitFor(
        async () => (await liveSockets(second.url)) === 1,
        'the page to reconnect',
        20_000,
      );
      expect(sockets.at(-1)).toBe(
        `${second.url.replace('http', 'ws')}/ws/transactions/${txId}?since=1`,
      );

      await page.click('#simulate');
      await waitForStatus(page, 'settled', 'websocket');
      // The demo merchant's key rotated at the restart; the page never needed it.
      const rest = await fetch(`${second.url}${API}/transactions/${txId}/status`, {
        headers: { authorization: `Bearer ${second.apiKey}` },
      });
      const body = (await rest.json()) as { status: string; suiTxDigest: string | null };
      expect(body.status).toBe('settled');
      expect(await shown(page)).toMatchObject({ status: 'settled', digest: body.suiTxDigest });
      expect(problems).toEqual([]);
      await page.close();
    },
  );
});
