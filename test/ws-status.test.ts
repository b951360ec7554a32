import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { API } from './support/http.js';
import { createProposal, demoKey, startTestNode, type TestNode } from './support/node.js';
import { waitFor } from './support/wait.js';
import { seedView } from './support/ws-client.js';

describe('websocket status', () => {
  let node: TestNode;
  const cancel = (txId: string) =>
    node.api('POST', `${API}/transactions/${txId}/cancel`, { key: demoKey(node) });

  beforeAll(async () => {
    node = await startTestNode();
  });
  // Every test leaves the hub empty: no socket outlives its close, whoever closed it.
  afterEach(() =>
    waitFor(
      () => node.hub.openSockets === 0 && node.hub.watchedTransactions === 0,
      'the hub to forget every socket',
    ),
  );
  afterAll(async () => {
    await node.stop();
  });

  describe('as the seed describes it', () => {
    it('sends the current status on connect with the seed fields plus version (and the additive timing fields)', async () => {
      const txId = await createProposal(node);
      const socket = node.watch(txId);
      const message = seedView(await socket.next());
      expect(Object.keys(message).sort()).toEqual([
        'status',
        'suiTxDigest',
        'transactionId',
        'type',
        'version',
      ]);
      expect(message).toEqual({
        type: 'status',
        transactionId: txId,
        status: 'pending',
        suiTxDigest: null,
        version: 1,
      });
      socket.close();
      await socket.closeEvent();
    });

    it('sends {"type":"error","message":"Transaction not found"} then closes with 4404 when the transaction does not exist', async () => {
      const socket = node.watch(randomUUID());
      const { close } = await socket.finished();
      expect(socket.raw).toEqual(['{"type":"error","message":"Transaction not found"}']);
      expect(close.code).toBe(4404);
    });
  });

  describe('transaction ids', () => {
    it.each([
      ['a word', 'not-a-uuid'],
      ['a UUID without dashes', '550e8400e29b41d4a716446655440000'],
      ['a UUID with a trailing character', '550e8400-e29b-41d4-a716-4466554400000'],
      ['a broken percent-encoding', '%E0%A4%A'],
      ['an empty id', ''],
    ])('sends an error message then closes with 4400 for %s', async (_label, id) => {
      const socket = node.watch(id);
      const { messages, close } = await socket.finished();
      expect(messages).toEqual([{ type: 'error', message: expect.any(String) }]);
      expect(close.code).toBe(4400);
    });

    it('accepts an uppercase UUID and reports the transaction under its lowercase id', async () => {
      const txId = await createProposal(node);
      const socket = node.watch(txId.toUpperCase());
      expect(await socket.next()).toMatchObject({
        type: 'status',
        transactionId: txId,
        status: 'pending',
      });
      socket.close();
      await socket.closeEvent();
    });
  });

  describe('transitions', () => {
    it('closes with 1000 right after sending a terminal status on connect', async () => {
      const txId = await createProposal(node);
      expect((await cancel(txId)).status).toBe(200);
      const socket = node.watch(txId);
      const { messages, close } = await socket.finished();
      expect(messages.map(seedView)).toEqual([
        { type: 'status', transactionId: txId, status: 'cancelled', suiTxDigest: null, version: 2 },
      ]);
      expect(close.code).toBe(1000);
    });

    it('pushes a cancellation as a status message and then closes with 1000', async () => {
      const txId = await createProposal(node);
      const socket = node.watch(txId);
      expect(await socket.next()).toMatchObject({ status: 'pending', version: 1 });
      expect((await cancel(txId)).status).toBe(200);
      const { messages, close } = await socket.finished();
      expect(messages.slice(1).map(seedView)).toEqual([
        { type: 'status', transactionId: txId, status: 'cancelled', suiTxDigest: null, version: 2 },
      ]);
      expect(close.code).toBe(1000);
    });

    it('pushes an expiry within 2 s of expiresAt and then closes with 1000', async () => {
      // Two seconds rather than one: expiresAt is whole seconds, so a one-second proposal can
      // expire a few milliseconds after creation, before the socket has seen it pending.
      const created = await node.api('POST', `${API}/proposals`, {
        key: demoKey(node),
        body: {
          items: [{ name: 'Tea', quantity: 1, unitPrice: '1.00' }],
          amount: { value: '1.00', currency: 'USDC' },
          deliverables: { receipt: true },
          expiresInSeconds: 2,
        },
      });
      expect(created.status).toBe(201);
      const txId = created.body.transactionId as string;
      const expiresAt = Date.parse(created.body.expiresAt as string);

      const socket = node.watch(txId);
      expect(await socket.next()).toMatchObject({ status: 'pending', version: 1 });
      expect(seedView(await socket.next(expiresAt - Date.now() + 4000))).toEqual({
        type: 'status',
        transactionId: txId,
        status: 'expired',
        suiTxDigest: null,
        version: 2,
      });
      const pushedAt = socket.receivedAt[1] ?? Number.NaN;
      expect(pushedAt).toBeGreaterThanOrEqual(expiresAt);
      expect(pushedAt - expiresAt).toBeLessThanOrEqual(2000);
      expect((await socket.closeEvent()).code).toBe(1000);
    });

    it('pushes the change to every socket watching the transaction', async () => {
      const txId = await createProposal(node);
      const sockets = [node.watch(txId), node.watch(txId), node.watch(txId)];
      for (const socket of sockets) expect(await socket.next()).toMatchObject({ version: 1 });
      expect(node.hub.openSockets).toBe(3);
      expect(node.hub.watchedTransactions).toBe(1);

      expect((await cancel(txId)).status).toBe(200);
      for (const socket of sockets) {
        expect(seedView(await socket.next())).toEqual({
          type: 'status',
          transactionId: txId,
          status: 'cancelled',
          suiTxDigest: null,
          version: 2,
        });
        expect((await socket.closeEvent()).code).toBe(1000);
      }
    });

    it('does not push one transaction to the sockets of another', async () => {
      const [watched, cancelled] = [await createProposal(node), await createProposal(node)];
      const socket = node.watch(watched);
      expect(await socket.next()).toMatchObject({ transactionId: watched, version: 1 });
      expect((await cancel(cancelled)).status).toBe(200);
      // Cancelling the watched one afterwards proves the socket was live all along.
      expect((await cancel(watched)).status).toBe(200);
      const { messages } = await socket.finished();
      expect(messages.map((m) => [m.transactionId, m.status])).toEqual([
        [watched, 'pending'],
        [watched, 'cancelled'],
      ]);
    });
  });
});
