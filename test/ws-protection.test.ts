/**
 * Issue 5: connection protection over real sockets. Every limit is small here so that a test
 * can hit it; each test speaks for its own client addresses (X-Forwarded-For through a trusted
 * proxy, 127.0.0.1) so that per-IP buckets and counts do not leak from one test into another.
 * After every test the node must hold no count at all: counters are released on close.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TransactionState } from '../src/store/index.js';
import { API } from './support/http.js';
import { metricValue } from './support/metrics.js';
import { createProposal, demoKey, startTestNode, type TestNode } from './support/node.js';
import { connectAs, upgradeAnswer, type ClientOptions } from './support/upgrade.js';
import { waitFor } from './support/wait.js';
import { withTimeout, type TestSocket } from './support/ws-client.js';

const HEARTBEAT_MS = 250;
/** Event-loop scheduling margin on a loaded machine, on top of the two intervals. */
const TIMER_SLACK_MS = 500;

const PROTECTED = {
  HEARTBEAT_MS: String(HEARTBEAT_MS),
  WS_MAX_SOCKETS: '6',
  WS_MAX_SOCKETS_PER_IP: '3',
  WS_MAX_SOCKETS_PER_TRANSACTION: '2',
  WS_UPGRADES_PER_MINUTE_PER_IP: '8',
  WS_MAX_CLIENT_FRAMES_PER_WINDOW: '5',
  WS_CLIENT_FRAME_WINDOW_MS: '60000',
  WS_ALLOWED_ORIGINS: 'https://shop.example.com',
  TRUSTED_PROXIES: '127.0.0.1,::1',
};

let addressCounter = 0;
/** A client address no other test uses (TEST-NET-2). */
const freshAddress = () => `198.51.100.${++addressCounter}`;

/** Every socket a test opened: terminated after it, whatever happened. */
const opened: TestSocket[] = [];

function track(socket: TestSocket): TestSocket {
  opened.push(socket);
  return socket;
}

async function expectNoCounts(node: TestNode): Promise<void> {
  const empty = () => {
    const counts = node.webSocket.counts();
    return Object.values(counts).every((value) => value === 0) && node.hub.openSockets === 0;
  };
  await waitFor(empty, 'every WebSocket count to return to 0');
}

async function closeEverything(node: TestNode): Promise<void> {
  for (const socket of opened.splice(0)) socket.ws.terminate();
  await expectNoCounts(node);
}

describe('websocket protection', () => {
  let node: TestNode;
  const connect = (txId: string, options: ClientOptions = {}) =>
    track(connectAs(node.wsUrl(txId), options));
  const cancel = (txId: string) =>
    node.api('POST', `${API}/transactions/${txId}/cancel`, { key: demoKey(node) });

  beforeAll(async () => {
    node = await startTestNode(PROTECTED);
  });
  afterEach(() => closeEverything(node));
  afterAll(async () => {
    await node.stop();
  });

  describe('heartbeat', () => {
    it('terminates a client that stops answering pings within two intervals and keeps one that answers', async () => {
      const txId = await createProposal(node);
      const address = freshAddress();
      const silent = connect(txId, { forwardedFor: address, autoPong: false });
      const answering = connect(txId, { forwardedFor: address });
      let silentPings = 0;
      let answeringPings = 0;
      silent.ws.on('ping', () => silentPings++);
      answering.ws.on('ping', () => answeringPings++);
      const timeoutsBefore = await metricValue(node, 'identipay_ws_heartbeat_timeouts_total');
      await Promise.all([silent.opened, answering.opened]);
      const openedAt = Date.now();

      const closed = await silent.closeEvent();
      expect(closed.code).toBe(1006); // terminated: no close frame
      expect(Date.now() - openedAt).toBeLessThanOrEqual(2 * HEARTBEAT_MS + TIMER_SLACK_MS);
      expect(silentPings).toBeGreaterThanOrEqual(1);
      expect(await metricValue(node, 'identipay_ws_heartbeat_timeouts_total')).toBe(
        timeoutsBefore + 1,
      );

      // The one that answers outlives several more intervals, and is still live.
      await waitFor(() => answeringPings >= 5, 'five pings to the answering client');
      expect(answering.ws.readyState).toBe(answering.ws.OPEN);
      expect((await cancel(txId)).status).toBe(200);
      const { messages, close } = await answering.finished();
      expect(messages.map((message) => message.status)).toEqual(['pending', 'cancelled']);
      expect(close.code).toBe(1000);
    });
  });

  describe('limits', () => {
    it('closes with 4429 after an error message when a transaction already has WS_MAX_SOCKETS_PER_TRANSACTION sockets', async () => {
      const txId = await createProposal(node);
      const first = connect(txId, { forwardedFor: freshAddress() });
      const second = connect(txId, { forwardedFor: freshAddress() });
      for (const socket of [first, second])
        expect(await socket.next()).toMatchObject({ version: 1 });
      const rejectedBefore = await metricValue(node, 'identipay_ws_connects_rejected_total', {
        reason: 'transaction_limit',
      });

      const third = connect(txId, { forwardedFor: freshAddress() });
      const { messages, close } = await third.finished();
      expect(messages).toEqual([
        { type: 'error', message: 'Too many connections to this transaction (at most 2)' },
      ]);
      expect(close).toEqual({ code: 4429, reason: 'Too many connections to this transaction' });
      expect(
        await metricValue(node, 'identipay_ws_connects_rejected_total', {
          reason: 'transaction_limit',
        }),
      ).toBe(rejectedBefore + 1);

      // A place frees up when a socket closes.
      first.close();
      await first.closeEvent();
      await waitFor(() => node.webSocket.counts().transactionSlots === 1, 'the slot to be freed');
      const fourth = connect(txId, { forwardedFor: freshAddress() });
      expect(await fourth.next()).toMatchObject({ type: 'status', version: 1 });
    });

    it('closes with 4429 after an error message when an address already has WS_MAX_SOCKETS_PER_IP sockets', async () => {
      const address = freshAddress();
      const sockets = [];
      for (let i = 0; i < 3; i++) {
        sockets.push(connect(await createProposal(node), { forwardedFor: address }));
      }
      for (const socket of sockets) expect(await socket.next()).toMatchObject({ version: 1 });

      const txId = await createProposal(node);
      const over = connect(txId, { forwardedFor: address });
      const { messages, close } = await over.finished();
      expect(messages).toEqual([
        { type: 'error', message: 'Too many connections from this address (at most 3)' },
      ]);
      expect(close).toEqual({ code: 4429, reason: 'Too many connections from this address' });

      // Another client address is not affected.
      const other = connect(txId, { forwardedFor: freshAddress() });
      expect(await other.next()).toMatchObject({ transactionId: txId, version: 1 });
    });

    it('refuses the upgrade with HTTP 503, Retry-After and a JSON body when the node has WS_MAX_SOCKETS sockets', async () => {
      const sockets: TestSocket[] = [];
      for (let i = 0; i < 6; i++) {
        sockets.push(connect(await createProposal(node), { forwardedFor: freshAddress() }));
      }
      for (const socket of sockets) await socket.next();
      const txId = await createProposal(node);

      const refused = await upgradeAnswer(node.wsUrl(txId), { forwardedFor: freshAddress() });
      expect(refused.status).toBe(503);
      expect(refused.headers['retry-after']).toBe('5');
      expect(refused.headers['content-type']).toBe('application/json');
      expect(refused.body).toEqual({
        error: 'unavailable',
        message: 'This node is at its connection limit: retry later or elsewhere',
      });
      expect(
        await metricValue(node, 'identipay_ws_connects_rejected_total', { reason: 'node_full' }),
      ).toBeGreaterThanOrEqual(1);

      sockets[0]?.close();
      await sockets[0]?.closeEvent();
      await waitFor(() => node.webSocket.counts().sockets === 5, 'a socket to be released');
      const accepted = connect(txId, { forwardedFor: freshAddress() });
      expect(await accepted.next()).toMatchObject({ transactionId: txId });
    });

    it('refuses upgrades over WS_UPGRADES_PER_MINUTE_PER_IP with HTTP 429 and Retry-After', async () => {
      const txId = await createProposal(node);
      const address = freshAddress();
      for (let i = 0; i < 8; i++) {
        const answer = await upgradeAnswer(node.wsUrl(txId), { forwardedFor: address });
        expect(answer.status, `upgrade ${i + 1}`).toBe(101);
        await waitFor(() => node.webSocket.counts().sockets === 0, 'the socket to close');
      }
      const refused = await upgradeAnswer(node.wsUrl(txId), { forwardedFor: address });
      expect(refused.status).toBe(429);
      // 8 per minute: the next token is at most 7.5 s away.
      const retryAfter = Number(refused.headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(8);
      expect(refused.body).toMatchObject({
        error: 'too_many_requests',
        message: expect.stringMatching(/^Too many connection attempts from this address/),
      });
      expect(node.webSocket.counts().sockets).toBe(0);

      expect((await upgradeAnswer(node.wsUrl(txId), { forwardedFor: freshAddress() })).status).toBe(
        101,
      );
    });

    it('releases every count when sockets end, however they end', async () => {
      const [a, b] = [await createProposal(node), await createProposal(node)];
      const address = freshAddress();
      const closedByClient = connect(a, { forwardedFor: address });
      const terminated = connect(a, { forwardedFor: address });
      const closedByServer = connect(b, { forwardedFor: address });
      for (const socket of [closedByClient, terminated, closedByServer]) await socket.next();
      expect(node.webSocket.counts()).toEqual({
        sockets: 3,
        addressSlots: 3,
        addresses: 1,
        transactionSlots: 3,
        transactions: 2,
      });

      const refused = [
        connect(a, { forwardedFor: address }), // 4429: the address is full
        connect('not-a-uuid', { forwardedFor: freshAddress() }), // 4400
        connect(a, { forwardedFor: freshAddress() }), // 4429: the transaction is full
      ];
      const codes = await Promise.all(refused.map(async (s) => (await s.closeEvent()).code));
      expect(codes).toEqual([4429, 4400, 4429]);

      closedByClient.close();
      terminated.ws.terminate();
      expect((await cancel(b)).status).toBe(200);
      expect((await closedByServer.closeEvent()).code).toBe(1000);
      await expectNoCounts(node);
    });
  });

  describe('client frames', () => {
    it('ignores a few client frames', async () => {
      const txId = await createProposal(node);
      const socket = connect(txId, { forwardedFor: freshAddress() });
      await socket.next();
      for (let i = 0; i < 5; i++) socket.ws.send('hello');
      expect((await cancel(txId)).status).toBe(200);
      expect(await socket.next()).toMatchObject({ status: 'cancelled' });
      expect((await socket.closeEvent()).code).toBe(1000);
    });

    it('closes with 1008 after an error message when a client sends more than WS_MAX_CLIENT_FRAMES_PER_WINDOW frames', async () => {
      const socket = connect(await createProposal(node), { forwardedFor: freshAddress() });
      expect(await socket.next()).toMatchObject({ type: 'status' });
      for (let i = 0; i < 6; i++) socket.ws.send('x');
      expect(await socket.next()).toEqual({
        type: 'error',
        message: 'Too many frames: this socket is read-only, send nothing',
      });
      expect(await socket.closeEvent()).toEqual({ code: 1008, reason: 'Too many client frames' });
    });

    it('counts pings as frames', async () => {
      const socket = connect(await createProposal(node), { forwardedFor: freshAddress() });
      await socket.next();
      for (let i = 0; i < 6; i++) socket.ws.ping();
      expect((await socket.closeEvent()).code).toBe(1008);
    });

    it('closes with 1009 when a frame is larger than 128 bytes, and counts the close', async () => {
      const before = await metricValue(node, 'identipay_ws_closes_total', { code: '1009' });
      const socket = connect(await createProposal(node), { forwardedFor: freshAddress() });
      await socket.next();
      socket.ws.send('x'.repeat(129));
      expect((await socket.closeEvent()).code).toBe(1009);
      await waitFor(
        async () =>
          (await metricValue(node, 'identipay_ws_closes_total', { code: '1009' })) === before + 1,
        'the 1009 close to be counted',
      );
    });
  });

  describe('origin', () => {
    it('refuses an Origin outside WS_ALLOWED_ORIGINS with HTTP 403 and a JSON body, without upgrading', async () => {
      const txId = await createProposal(node);
      const refused = await upgradeAnswer(node.wsUrl(txId), {
        forwardedFor: freshAddress(),
        origin: 'https://evil.example.com',
      });
      expect(refused.status).toBe(403);
      expect(refused.headers['content-type']).toBe('application/json');
      expect(refused.body).toEqual({ error: 'forbidden', message: 'Origin not allowed' });
      expect(node.webSocket.counts().sockets).toBe(0);
    });

    it('accepts an allowed Origin in any letter case, and clients that send no Origin', async () => {
      const txId = await createProposal(node);
      const url = node.wsUrl(txId);
      const forwardedFor = freshAddress();
      expect(
        (await upgradeAnswer(url, { forwardedFor, origin: 'https://Shop.Example.com' })).status,
      ).toBe(101);
      expect((await upgradeAnswer(url, { forwardedFor })).status).toBe(101);
    });
  });

  describe('metrics', () => {
    it('counts messages sent by type and closes by code', async () => {
      const sent = (type: string) =>
        metricValue(node, 'identipay_ws_messages_sent_total', { type });
      const closes = (code: string) => metricValue(node, 'identipay_ws_closes_total', { code });
      const before = {
        status: await sent('status'),
        error: await sent('error'),
        normal: await closes('1000'),
        notFound: await closes('4404'),
      };
      const txId = await createProposal(node);
      const watching = connect(txId, { forwardedFor: freshAddress() });
      await watching.next();
      expect((await cancel(txId)).status).toBe(200);
      await watching.closeEvent();
      const missing = connect(randomUUID(), { forwardedFor: freshAddress() });
      await missing.closeEvent();

      await waitFor(
        async () => (await closes('4404')) === before.notFound + 1,
        'the 4404 close to be counted',
      );
      expect(await sent('status')).toBe(before.status + 2);
      expect(await sent('error')).toBe(before.error + 1);
      expect(await closes('1000')).toBe(before.normal + 1);
      const text = await (await fetch(`${node.url}/metrics`)).text();
      expect(text).toMatch(/^identipay_ws_messages_sent_total\{type="status"\} \d+$/m);
      expect(text).toMatch(/^identipay_ws_closes_total\{code="4404"\} \d+$/m);
    });
  });
});

describe('websocket backpressure and untrusted proxies', () => {
  let node: TestNode;
  const connect = (txId: string, options: ClientOptions = {}) =>
    track(connectAs(node.wsUrl(txId), options));

  beforeAll(async () => {
    node = await startTestNode({
      WS_MAX_BUFFERED_BYTES: String(256 * 1024),
      WS_MAX_SOCKETS_PER_IP: '2',
      // Nothing but the test itself closes the slow socket.
      HEARTBEAT_MS: '600000',
      RESYNC_INTERVAL_MS: '0',
    });
  });
  afterEach(() => closeEverything(node));
  afterAll(async () => {
    await node.stop();
  });

  it('closes a socket that stops reading with 1013 while another on the transaction receives everything', async () => {
    const txId = await createProposal(node);
    const slow = connect(txId);
    const fast = connect(txId);
    for (const socket of [slow, fast]) expect(await socket.next()).toMatchObject({ version: 1 });
    slow.ws.pause(); // stops reading from TCP: the kernel buffers fill, then the server's

    // Large transitions pushed the way the bus delivers them; one per turn of the event loop,
    // so that the fast reader keeps up. The hub's send counter tells when the server stopped
    // sending to the slow socket (a delivery then reaches one socket, not two).
    const digest = 'D'.repeat(16 * 1024);
    const tally = node.metrics.messagesSent;
    let version = 1;
    let afterSlowClosed = 0;
    while (afterSlowClosed < 20) {
      if (version > 5000) throw new Error('the slow socket was never closed');
      version++;
      const before = tally.status;
      const state: TransactionState = {
        transactionId: txId,
        status: 'pending',
        version,
        suiTxDigest: digest,
        settledAt: null,
        late: false,
      };
      node.hub.deliver([state]);
      if (tally.status - before === 1) afterSlowClosed++;
      await new Promise((resolve) => setImmediate(resolve));
    }

    // The fast socket got every version, in order, however slow the other one was.
    await waitFor(
      () => fast.messages.length === version,
      `all ${version} messages on the fast socket`,
    );
    const versions = (fast.messages as { version: number }[]).map((message) => message.version);
    expect(versions).toEqual(Array.from({ length: version }, (_, index) => index + 1));
    expect(fast.ws.readyState).toBe(fast.ws.OPEN);

    // Once it reads again, the slow one finds what was queued before the close (a gap-free
    // prefix), then the 1013 close; the last 20 transitions were never queued for it.
    slow.ws.resume();
    const { messages, close } = await slow.finished();
    expect(close).toEqual({ code: 1013, reason: 'Reading too slowly' });
    expect(messages.map((message) => message.version)).toEqual(versions.slice(0, version - 20));
    await waitFor(
      async () => (await metricValue(node, 'identipay_ws_closes_total', { code: '1013' })) === 1,
      'the 1013 close to be counted',
    );
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', async () => {
    const txId = await createProposal(node);
    const sockets = ['203.0.113.1', '203.0.113.2'].map((ip) => connect(txId, { forwardedFor: ip }));
    for (const socket of sockets) await socket.next();
    // A third "address" is still 127.0.0.1, which has its two sockets.
    const third = connect(txId, { forwardedFor: '203.0.113.3' });
    expect((await withTimeout(third.closed, 10_000, 'the close')).code).toBe(4429);
  });
});
