/**
 * Issue 6, items 3 and 4: the sandbox demo checkout page in a real browser (Debian's Chromium,
 * driven by playwright-core) against a real node: choose, pay, watch live through the SDK over
 * the WebSocket, simulate the wallet, see the settlement; and cancel.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API } from '../support/http.js';
import { demoKey, startTestNode, type TestNode } from '../support/node.js';
import { ensureBuilt } from '../support/process.js';
import {
  checkout,
  chromiumForTests,
  launchChromium,
  openShop,
  resultPath,
  shown,
  waitForStatus,
} from './support.js';

const chromium = chromiumForTests();

describe.skipIf(!chromium.available)('demo checkout page in Chromium', () => {
  let node: TestNode;
  let browser: Browser;

  beforeAll(async () => {
    ensureBuilt(); // the page loads the compiled SDK from dist/
    [node, browser] = await Promise.all([startTestNode(), launchChromium()]);
  });
  afterAll(async () => {
    await browser?.close();
    await node?.stop();
  });

  it('pays for the chosen items and shows the digest the store recorded', async () => {
    const { page, problems, sockets } = await openShop(browser, node.url);
    await page.fill('#qty-espresso', '2');
    await page.fill('#qty-tote', '1');
    expect(await page.textContent('#total')).toBe('23.90 USDC');

    const txId = await checkout(page, {});
    await waitForStatus(page, 'pending', 'websocket');
    expect(await page.isVisible('#qr')).toBe(true);
    expect(await page.getAttribute('#qr', 'src')).toMatch(/^data:image\/png;base64,/);
    const qrWidth = await page.$eval('#qr', (img) => (img as HTMLImageElement).naturalWidth);
    expect(qrWidth).toBeGreaterThan(0);
    expect(await page.textContent('#uri')).toBe(`did:identipay:localhost:${txId}`);
    expect(await page.textContent('#amount')).toBe('23.90 USDC');
    expect(sockets).toEqual([`${node.url.replace('http', 'ws')}/ws/transactions/${txId}`]);

    // The server priced the cart from its catalogue: the proposal a wallet resolves says so.
    const intent = await node.api('GET', `${API}/intents/${txId}`);
    expect(intent.body).toMatchObject({
      amount: { value: '23.9', currency: 'USDC' },
      items: [
        { name: 'Espresso', quantity: 2, unitPrice: '2.50' },
        { name: 'Canvas tote bag', quantity: 1, unitPrice: '18.90' },
      ],
    });

    await page.click('#simulate');
    await waitForStatus(page, 'settled', 'websocket');
    const state = await node.store.proposals.state(txId);
    expect(state?.suiTxDigest).toBeTruthy();
    const rest = await node.api('GET', `${API}/transactions/${txId}/status`, {
      key: demoKey(node),
    });
    expect(rest.body).toMatchObject({ status: 'settled', suiTxDigest: state?.suiTxDigest });
    expect(await shown(page)).toMatchObject({
      status: 'settled',
      via: 'websocket',
      text: 'Paid: settled on Sui.',
      digest: state?.suiTxDigest,
    });
    expect(await page.isVisible('#simulate')).toBe(false);
    expect(await page.isVisible('#again')).toBe(true);
    await page.screenshot({ path: resultPath('checkout-settled.png'), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  });

  it('cancels a pending payment with the keyboard alone and shows it cancelled', async () => {
    const { page, problems } = await openShop(browser, node.url);
    await page.focus('#qty-croissant');
    await page.keyboard.press('ArrowUp'); // a number input steps by one
    expect(await page.textContent('#total')).toBe('3.20 USDC');
    await page.keyboard.press('Enter'); // submits the form
    await waitForStatus(page, 'pending');
    const txId = (await page.textContent('#tx-id')) ?? '';
    // Focus moved to the payment section; Tab reaches the actions.
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('payment-title');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('cancel');
    await page.keyboard.press('Enter');

    await waitForStatus(page, 'cancelled');
    expect(await shown(page)).toMatchObject({ text: 'Cancelled.', digest: 'none' });
    expect((await node.store.proposals.state(txId))?.status).toBe('cancelled');
    // The buttons of a finished payment are gone; focus went to the next step, not lost.
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('again');
    await page.keyboard.press('Enter');
    expect(await page.isVisible('#payment')).toBe(false);
    expect(await page.textContent('#total')).toBe('0.00 USDC');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('refuses an empty cart in the page without asking the server', async () => {
    const { page } = await openShop(browser, node.url);
    const checkouts: string[] = [];
    page.on('request', (request) => {
      if (request.url().includes('/demo/checkout')) checkouts.push(request.url());
    });
    await page.click('#pay');
    await page.waitForSelector('#cart-error:has-text("Choose at least one item.")', {
      timeout: 5_000,
    });
    expect(await page.isVisible('#payment')).toBe(false);
    expect(checkouts).toEqual([]);
    await page.close();
  });
});
