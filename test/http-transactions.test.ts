import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API, expectRejected } from './support/http.js';
import { eventsOf } from './support/store.js';
import {
  createProposal,
  demoKey,
  registerMerchant,
  startTestNode,
  type TestMerchant,
  type TestNode,
} from './support/node.js';
import { waitFor } from './support/wait.js';

const STATUS_FIELDS = ['transactionId', 'status', 'suiTxDigest', 'settledAt', 'version'];

/** The status response's contract fields, each required to be present (undefined otherwise). */
function contractFields(body: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(STATUS_FIELDS.map((field) => [field, body[field]]));
}

describe('transactions', () => {
  let node: TestNode;
  let other: TestMerchant;
  const status = (txId: string, key = demoKey(node)) =>
    node.api('GET', `${API}/transactions/${txId}/status`, { key });
  const cancel = (txId: string, key = demoKey(node), body?: unknown) =>
    node.api('POST', `${API}/transactions/${txId}/cancel`, { key, body });
  const intent = (txId: string) => node.api('GET', `${API}/intents/${txId}`);

  beforeAll(async () => {
    node = await startTestNode();
    other = await registerMerchant(node);
  });
  afterAll(async () => {
    await node.stop();
  });

  describe('GET /transactions/:txId/status', () => {
    it('answers {transactionId, status, suiTxDigest, settledAt, version}', async () => {
      const txId = await createProposal(node);
      const response = await status(txId);
      expect(response.status).toBe(200);
      // Exactly these values; later issues may add fields beside them (DESIGN.md: additive).
      expect(contractFields(response.body)).toStrictEqual({
        transactionId: txId,
        status: 'pending',
        suiTxDigest: null,
        settledAt: null,
        version: 1,
      });
    });

    it('reports a cancellation with the next version and no settledAt', async () => {
      const txId = await createProposal(node);
      expect((await cancel(txId)).status).toBe(200);
      expect(contractFields((await status(txId.toUpperCase())).body)).toStrictEqual({
        transactionId: txId,
        status: 'cancelled',
        suiTxDigest: null,
        settledAt: null,
        version: 2,
      });
    });

    it("answers 404 for another merchant's transaction with the body of a missing one", async () => {
      const txId = await createProposal(node);
      const missing = await expectRejected(node, () => status(randomUUID(), other.apiKey), 404);
      const foreign = await expectRejected(node, () => status(txId, other.apiKey), 404);
      expect(foreign.body).toStrictEqual(missing.body);
      expect(foreign.headers.get('content-length')).toBe(missing.headers.get('content-length'));
    });

    it.each(['not-a-uuid', '550e8400e29b41d4a716446655440000', `${randomUUID()}0`])(
      'answers 400 for the invalid id %s',
      async (id) => {
        await expectRejected(node, () => status(id), 400);
      },
    );

    it('answers 401 without an API key', async () => {
      const txId = await createProposal(node);
      await expectRejected(node, () => node.api('GET', `${API}/transactions/${txId}/status`), 401);
    });
  });

  describe('POST /transactions/:txId/cancel', () => {
    it('cancels a pending transaction: 200 with the new status and version', async () => {
      const txId = await createProposal(node);
      const response = await cancel(txId);
      expect(response.status).toBe(200);
      expect(response.body).toStrictEqual({ transactionId: txId, status: 'cancelled', version: 2 });
      expect(await eventsOf(node.store.database.db, txId)).toEqual([
        { version: 1, status: 'pending', event: 'created' },
        { version: 2, status: 'cancelled', event: 'cancelled' },
      ]);
    });

    it('accepts an empty JSON object as the body', async () => {
      const txId = await createProposal(node);
      expect((await cancel(txId, demoKey(node), {})).status).toBe(200);
    });

    it('answers 409 with the status when the transaction is already cancelled', async () => {
      const txId = await createProposal(node);
      expect((await cancel(txId)).status).toBe(200);
      const again = await expectRejected(node, () => cancel(txId), 409);
      expect(again.body.status).toBe('cancelled');
    });

    it('answers 409 with the status when the transaction has expired', async () => {
      const txId = await createProposal(node, { expiresInSeconds: 1 });
      await waitFor(
        async () => (await status(txId)).body.status === 'expired',
        'the proposal to expire',
      );
      const response = await expectRejected(node, () => cancel(txId), 409);
      expect(response.body.status).toBe('expired');
    });

    it("answers 404 for another merchant's transaction and leaves it pending", async () => {
      const txId = await createProposal(node);
      const foreign = await expectRejected(node, () => cancel(txId, other.apiKey), 404);
      const missing = await expectRejected(node, () => cancel(randomUUID(), other.apiKey), 404);
      expect(foreign.body).toStrictEqual(missing.body);
      expect((await status(txId)).body).toMatchObject({ status: 'pending', version: 1 });
    });

    it('answers 400 for an invalid id and for a body with members', async () => {
      await expectRejected(node, () => cancel('not-a-uuid'), 400);
      const txId = await createProposal(node);
      await expectRejected(
        node,
        () => cancel(txId, demoKey(node), { reason: 'changed mind' }),
        400,
      );
      expect((await status(txId)).body.status).toBe('pending');
    });
  });

  describe('GET /intents/:txId', () => {
    it('serves the proposal document to anyone, exactly as created', async () => {
      const created = await node.api('POST', `${API}/proposals`, {
        key: demoKey(node),
        body: {
          items: [{ name: 'Scarf', quantity: 1, unitPrice: '19.90' }],
          amount: { value: '19.90', currency: 'USDC' },
          deliverables: { receipt: true },
        },
      });
      const txId = created.body.transactionId as string;
      const response = await intent(txId);
      expect(response.status).toBe(200);
      expect(response.body).toStrictEqual(created.body.proposal);
      expect(response.body.intentHash).toBe(created.body.intentHash);
    });

    it('carries only the protocol document fields, no buyer data', async () => {
      const response = await intent(await createProposal(node));
      expect(Object.keys(response.body).sort()).toEqual(
        [
          '@context',
          '@type',
          'transactionId',
          'merchant',
          'items',
          'amount',
          'deliverables',
          'expiresAt',
          'settlementChain',
          'settlementModule',
          'intentHash',
        ].sort(),
      );
      expect(JSON.stringify(response.body)).not.toMatch(/buyer|stealth/i);
    });

    it('answers 404 for an unknown transaction and 400 for an invalid id', async () => {
      await expectRejected(node, () => intent(randomUUID()), 404);
      await expectRejected(node, () => intent('not-a-uuid'), 400);
    });

    it('answers 410 with the status for a cancelled transaction', async () => {
      const txId = await createProposal(node);
      expect((await cancel(txId)).status).toBe(200);
      const response = await expectRejected(node, () => intent(txId), 410);
      expect(response.body.status).toBe('cancelled');
    });
  });

  describe('unknown routes', () => {
    it.each([
      ['GET', `${API}/nope`],
      ['POST', `${API}/transactions`],
      ['GET', `${API}/transactions/${randomUUID()}`],
      ['DELETE', `${API}/transactions/${randomUUID()}/cancel`],
      ['GET', '/api/identipay/v2/intents/x'],
    ])('answers %s %s with a 404 JSON error', async (method, path) => {
      await expectRejected(node, () => node.api(method, path, { key: demoKey(node) }), 404);
    });
  });
});
