import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { API } from './support/http.js';
import { createProposal, demoKey, startTestNode, type TestNode } from './support/node.js';
import { seedView, upgradeStatus, type TestSocket } from './support/ws-client.js';
import { postgresForTests, type TestDatabase } from './support/postgres.js';
import { waitFor } from './support/wait.js';

const pg = await postgresForTests();

/** Lets the event loop turn `count` times: spreads the two racers' start times. */
async function yieldTurns(count: number): Promise<void> {
  for (let turn = 0; turn < count; turn++) await new Promise((resolve) => setImmediate(resolve));
}

/**
 * Connects a socket and cancels the transaction concurrently, `rounds` times with varying
 * offsets so that the commit lands before, during and after the connect-time snapshot read.
 * Whatever the interleaving, each socket sees versions strictly increasing, ending cancelled.
 */
async function expectNoStaleStatusUnderRace(node: TestNode, rounds: number): Promise<void> {
  const key = demoKey(node);
  const cancel = (txId: string) => node.api('POST', `${API}/transactions/${txId}/cancel`, { key });
  const txIds: string[] = [];
  for (let i = 0; i < rounds; i++) txIds.push(await createProposal(node));

  const outcomes = await Promise.all(
    txIds.map(async (txId, i) => {
      const offset = (i >> 1) % 10;
      let socket: TestSocket;
      let cancelled: ReturnType<typeof cancel>;
      if (i % 2 === 0) {
        cancelled = cancel(txId);
        await yieldTurns(offset);
        socket = node.watch(txId);
      } else {
        socket = node.watch(txId);
        await yieldTurns(offset);
        cancelled = cancel(txId);
      }
      const [finished, response] = await Promise.all([socket.finished(10_000), cancelled]);
      return { txId, response, ...finished };
    }),
  );

  for (const { txId, response, messages, close } of outcomes) {
    expect(response.status).toBe(200);
    const versions = messages.map((message) => message.version as number);
    const increasing = versions.every((v, k) => k === 0 || v > (versions[k - 1] ?? v));
    expect(increasing, `versions ${versions.join(',')} for ${txId}`).toBe(true);
    expect(seedView(messages.at(-1) ?? {})).toEqual({
      type: 'status',
      transactionId: txId,
      status: 'cancelled',
      suiTxDigest: null,
      version: 2,
    });
    expect(close.code).toBe(1000);
  }
}

describe('websocket lifecycle', () => {
  let node: TestNode;
  const cancel = (txId: string) =>
    node.api('POST', `${API}/transactions/${txId}/cancel`, { key: demoKey(node) });
  const hubIsEmpty = () => node.hub.openSockets === 0 && node.hub.watchedTransactions === 0;

  beforeAll(async () => {
    node = await startTestNode();
  });
  afterEach(() => waitFor(hubIsEmpty, 'the hub to forget every socket'));
  afterAll(async () => {
    await node.stop();
  });

  describe('paths', () => {
    it('upgrades /ws/transactions/:txId', async () => {
      expect(await upgradeStatus(node.wsUrl(await createProposal(node)))).toBe(101);
    });

    it.each([
      '/ws/other',
      `/ws/transactions/${randomUUID()}/extra`,
      '/ws/transactions',
      '/',
      `${API}/intents/${randomUUID()}`,
    ])('answers HTTP 404 without upgrading on %s', async (path) => {
      const wsBase = node.url.replace('http', 'ws');
      expect(await upgradeStatus(`${wsBase}${path}`)).toBe(404);
      expect(node.hub.openSockets).toBe(0);
    });
  });

  describe('state', () => {
    it('keeps no state for a socket after it closes, whoever closed it', async () => {
      const [first, second] = [await createProposal(node), await createProposal(node)];
      const closedByClient = node.watch(first);
      const terminated = node.watch(first);
      const closedByServer = node.watch(second);
      for (const socket of [closedByClient, terminated, closedByServer]) await socket.next();
      expect(node.hub.openSockets).toBe(3);
      expect(node.hub.watchedTransactions).toBe(2);

      closedByClient.close();
      terminated.ws.terminate(); // no close handshake: the server only sees the TCP connection end
      expect((await cancel(second)).status).toBe(200);
      expect((await closedByServer.closeEvent()).code).toBe(1000);
      const notFound = node.watch(randomUUID());
      expect((await notFound.closeEvent()).code).toBe(4404);

      await waitFor(hubIsEmpty, 'the hub to forget every socket');
    });
  });

  describe('client frames', () => {
    it('tolerates a client frame of 128 bytes', async () => {
      const txId = await createProposal(node);
      const socket = node.watch(txId);
      await socket.next();
      socket.ws.send('x'.repeat(128));
      // The socket is still live: the cancellation still reaches it, with a normal close.
      expect((await cancel(txId)).status).toBe(200);
      expect(await socket.next()).toMatchObject({ status: 'cancelled' });
      expect((await socket.closeEvent()).code).toBe(1000);
    });

    it('closes with 1009 when a client sends a frame larger than 128 bytes', async () => {
      const socket = node.watch(await createProposal(node));
      await socket.next();
      socket.ws.send('x'.repeat(129));
      expect((await socket.closeEvent()).code).toBe(1009);
    });
  });

  it('never sends an older status after a newer one when a connect races a cancel', async () => {
    await expectNoStaleStatusUnderRace(node, 40);
  });
});

// Real Postgres answers the snapshot read and the cancel on separate connections, so the commit
// can land inside the read: the interleaving embedded PGlite (one query at a time) cannot produce.
describe.skipIf(!pg.available)('websocket lifecycle on Postgres', () => {
  let node: TestNode;
  let database: TestDatabase;
  beforeAll(async () => {
    database = await pg.createDatabase();
    node = await startTestNode({}, { kind: 'postgres', url: database.url });
  });
  afterAll(async () => {
    await node?.stop();
    await database?.drop();
  });

  it('never sends an older status after a newer one when a connect races a cancel', async () => {
    await expectNoStaleStatusUnderRace(node, 40);
  });
});
