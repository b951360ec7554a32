/**
 * Issue 6, item 4c: a node that refuses the page's WebSocket upgrades (its Origin is not in
 * WS_ALLOWED_ORIGINS: HTTP 403 before any upgrade). The SDK in the page falls back to polling the
 * shop's own status route, without an API key, and still shows the settlement.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricValue } from '../support/metrics.js';
import { startTestNode, type TestNode } from '../support/node.js';
import { ensureBuilt } from '../support/process.js';
import {
  checkout,
  chromiumForTests,
  launchChromium,
  openShop,
  shown,
  waitForStatus,
} from './support.js';

const chromium = chromiumForTests();

describe.skipIf(!chromium.available)('demo page when WebSocket upgrades are refused', () => {
  let node: TestNode;
  let browser: Browser;

  beforeAll(async () => {
    ensureBuilt();
    [node, browser] = await Promise.all([
      startTestNode({ WS_ALLOWED_ORIGINS: 'https://shop.example.com' }),
      launchChromium(),
    ]);
  });
  afterAll(async () => {
    await browser?.close();
    await node?.stop();
  });

  it('falls back to polling the shop, without a key, and shows the settlement', async () => {
    const { page, problems } = await openShop(browser, node.url);
    const polls: { url: string; authorization: string | undefined }[] = [];
    page.on('request', (request) => {
      if (request.url().includes('/status?since=')) {
        polls.push({ url: request.url(), authorization: request.headers().authorization });
      }
    });

    const txId = await checkout(page, { notebook: 1 });
    await waitForStatus(page, 'pending', 'polling');
    expect(await page.textContent('#connection')).toContain('polling');
    // The page's connects were refused by the server for their Origin, not lost on the way.
    expect(
      await metricValue(node, 'identipay_ws_connects_rejected_total', { reason: 'origin' }),
    ).toBeGreaterThanOrEqual(3);

    await page.click('#simulate');
    await waitForStatus(page, 'settled', 'polling');
    const state = await node.store.proposals.state(txId);
    expect(await shown(page)).toMatchObject({
      status: 'settled',
      via: 'polling',
      digest: state?.suiTxDigest,
    });
    expect(state?.suiTxDigest).toBeTruthy();
    expect(polls.length).toBeGreaterThanOrEqual(2);
    for (const poll of polls) {
      expect(poll.url).toMatch(new RegExp(`/demo/transactions/${txId}/status\\?since=\\d+$`));
      expect(poll.authorization).toBeUndefined();
    }
    expect(problems).toEqual([]);
    await page.close();
  });
});
