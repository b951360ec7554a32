/**
 * Issue 6, item 3: the sandbox demo shop's server side. The page and its modules are served
 * from an allow-list only, with a strict CSP; the shop's JSON routes price the cart themselves
 * and answer only for the demo merchant's transactions (the browser holds no API key).
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATALOGUE, CONTENT_SECURITY_POLICY } from '../src/demo/index.js';
import { API, expectRejected } from './support/http.js';
import {
  SAMPLE_PROPOSAL,
  createProposal,
  registerMerchant,
  startTestNode,
  type TestNode,
} from './support/node.js';
import { ensureBuilt } from './support/process.js';

/** A GET with the path sent exactly as written (fetch would normalise `..` away). */
function rawGet(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('demo shop', () => {
  let node: TestNode;

  beforeAll(async () => {
    ensureBuilt(); // the browser modules are served from dist/
    node = await startTestNode();
  });
  afterAll(async () => {
    await node.stop();
  });

  const checkout = (body: unknown) => node.api('POST', '/demo/checkout', { body });

  describe('page and modules', () => {
    it('serves the checkout page at / with a self-only Content-Security-Policy', async () => {
      const response = await fetch(`${node.url}/`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(response.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
      expect(CONTENT_SECURITY_POLICY).toContain("img-src 'self' data:");
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      const html = await response.text();
      for (const product of CATALOGUE) {
        expect(html).toContain(`>${product.name}<`);
        expect(html).toContain(`${product.unitPrice} USDC`);
      }
      // Nothing from another origin.
      expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    });

    it('serves the stylesheet, the page script and the SDK modules it imports', async () => {
      for (const [path, type] of [
        ['/demo/assets/checkout.css', 'text/css'],
        ['/demo/assets/demo/browser/checkout.js', 'text/javascript'],
        ['/demo/assets/sdk/index.js', 'text/javascript'],
        ['/demo/assets/sdk/watch.js', 'text/javascript'],
        ['/demo/assets/wire/index.js', 'text/javascript'],
      ] as const) {
        const response = await fetch(`${node.url}${path}`);
        expect(response.status, path).toBe(200);
        expect(response.headers.get('content-type')).toContain(type);
      }
    });

    it('serves nothing outside the allow-list, whatever the path says', async () => {
      for (const path of [
        '/demo/assets/demo/routes.js',
        '/demo/assets/config/index.js',
        '/demo/assets/main.js',
        '/demo/assets/sdk/index.js.map',
        '/demo/assets/sdk/index.d.ts',
        '/demo/assets/sdk/../main.js',
        '/demo/assets/sdk/../../package.json',
        '/demo/assets/sdk/%2e%2e/%2e%2e/package.json',
        '/demo/assets/sdk%2F..%2F..%2Fpackage.json',
        '/demo/assets//etc/passwd',
        '/demo/assets/',
      ]) {
        expect(await rawGet(node.port, path), path).toBe(404);
      }
    });
  });

  describe('checkout', () => {
    it('creates a proposal priced from the catalogue, as the demo merchant', async () => {
      const response = await checkout({
        items: [
          { sku: 'espresso', quantity: 3 },
          { sku: 'notebook', quantity: 1 },
        ],
      });
      expect(response.status).toBe(201);
      expect(response.body).toMatchObject({
        uri: expect.stringMatching(/^did:identipay:localhost:/),
        qrCode: expect.stringMatching(/^data:image\/png;base64,/),
        proposal: {
          merchant: { did: node.demoMerchant?.did },
          amount: { value: '19.5', currency: 'USDC' },
          items: [
            { name: 'Espresso', quantity: 3, unitPrice: '2.50' },
            { name: 'Dot-grid notebook', quantity: 1, unitPrice: '12.00' },
          ],
        },
      });
      const state = await node.store.proposals.state(response.body.transactionId as string);
      expect(state?.status).toBe('pending');
    });

    it('refuses unknown items, bad quantities, duplicates and prices (400, nothing stored)', async () => {
      for (const body of [
        { items: [] },
        { items: [{ sku: 'caviar', quantity: 1 }] },
        { items: [{ sku: 'espresso', quantity: 0 }] },
        { items: [{ sku: 'espresso', quantity: 11 }] },
        { items: [{ sku: 'espresso', quantity: 1.5 }] },
        { items: [{ sku: 'espresso', quantity: 1, unitPrice: '0.01' }] },
        {
          items: [
            { sku: 'espresso', quantity: 1 },
            { sku: 'espresso', quantity: 2 },
          ],
        },
        { items: [{ sku: 'espresso', quantity: 1 }], amount: { value: '0.01', currency: 'USDC' } },
      ]) {
        await expectRejected(node, () => checkout(body), 400);
      }
    });
  });

  describe('status and cancel', () => {
    it("answers the demo merchant's transactions like the API status route, without a key", async () => {
      const created = await checkout({ items: [{ sku: 'tote', quantity: 1 }] });
      const txId = created.body.transactionId as string;
      const status = await node.api('GET', `/demo/transactions/${txId}/status?since=0`);
      expect(status.status).toBe(200);
      expect(status.body).toMatchObject({
        transactionId: txId,
        status: 'pending',
        version: 1,
        transitions: [{ version: 1, event: 'created', status: 'pending' }],
      });
      const cancelled = await node.api('POST', `/demo/transactions/${txId}/cancel`);
      expect(cancelled.body).toEqual({ transactionId: txId, status: 'cancelled', version: 2 });
      const again = await node.api('POST', `/demo/transactions/${txId}/cancel`);
      expect(again.status).toBe(409);
      const after = await node.api('GET', `/demo/transactions/${txId}/status?since=1`);
      expect(after.body).toMatchObject({ status: 'cancelled', transitions: [{ version: 2 }] });
    });

    it("answers 404 for another merchant's transaction and leaves it alone", async () => {
      const other = await registerMerchant(node);
      const txId = await createProposal(node, SAMPLE_PROPOSAL, other.apiKey);
      expect((await node.api('GET', `/demo/transactions/${txId}/status`)).status).toBe(404);
      await expectRejected(node, () => node.api('POST', `/demo/transactions/${txId}/cancel`), 404);
      const status = await node.api('GET', `${API}/transactions/${txId}/status`, {
        key: other.apiKey,
      });
      expect(status.body.status).toBe('pending');
    });
  });
});
