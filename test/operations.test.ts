/**
 * Issue 5, items 6 and 8: health and readiness, the metrics added for operations (push latency,
 * sockets per state) and the HTTP timeouts that drop slow-loris clients, over real sockets.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { histogramValue, metricValue } from './support/metrics.js';
import { API } from './support/http.js';
import { createProposal, demoKey, startTestNode, type TestNode } from './support/node.js';
import { waitFor } from './support/wait.js';
import { withTimeout } from './support/ws-client.js';

const HEADERS_TIMEOUT_MS = 300;
/** Node sweeps for timed-out connections on an interval, and a loaded machine is slow. */
const SWEEP_SLACK_MS = 1_500;

describe('health and readiness', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode();
  });
  afterAll(async () => {
    await node.stop();
  });

  it('answers /health with 200 and status ok', async () => {
    const response = await node.api('GET', '/health');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ status: 'ok' });
  });

  it('answers /ready with 200 when the store answers, the bus is subscribed and the indexer runs', async () => {
    const response = await node.api('GET', '/ready');
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    expect(response.body).toMatchObject({
      status: 'ready',
      failing: [],
      checks: { store: { ok: true }, bus: { ok: true }, indexer: { ok: true } },
    });
  });
});

describe('readiness of a degraded node', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode();
  });
  afterAll(async () => {
    await node.stop();
  });

  it('answers /ready with 503 naming the indexer once the indexer has stopped, and the store once it is closed', async () => {
    await node.indexer.stop();
    const noIndexer = await node.api('GET', '/ready');
    expect(noIndexer.status).toBe(503);
    expect(noIndexer.body).toMatchObject({
      status: 'not_ready',
      failing: ['indexer'],
      checks: { indexer: { ok: false, detail: 'stopped' }, store: { ok: true } },
    });

    await node.store.close();
    const noStore = await node.api('GET', '/ready');
    expect(noStore.status).toBe(503);
    expect(noStore.body).toMatchObject({ failing: ['store', 'indexer'] });
    // Liveness is not readiness: the process still answers.
    expect((await node.api('GET', '/health')).status).toBe(200);
  });
});

describe('operations metrics', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode();
  });
  afterAll(async () => {
    await node.stop();
  });

  it('counts sockets per state and observes one push latency per settlement, not one per socket', async () => {
    const txId = await createProposal(node);
    const sockets = [node.watch(txId), node.watch(txId), node.watch(txId)];
    for (const socket of sockets) expect(await socket.next()).toMatchObject({ status: 'pending' });
    expect(await metricValue(node, 'identipay_ws_sockets', { state: 'live' })).toBe(3);
    expect(await metricValue(node, 'identipay_ws_sockets', { state: 'loading' })).toBe(0);
    const before = await histogramValue(node, 'identipay_push_latency_seconds', 'count');

    expect((await node.api('POST', `/sandbox/transactions/${txId}/pay`)).status).toBe(202);
    for (const socket of sockets) {
      expect(await socket.next()).toMatchObject({ type: 'settlement', status: 'settled' });
      expect((await socket.closeEvent()).code).toBe(1000);
    }

    expect(await histogramValue(node, 'identipay_push_latency_seconds', 'count')).toBe(before + 1);
    const sum = await histogramValue(node, 'identipay_push_latency_seconds', 'sum');
    expect(sum).toBeGreaterThanOrEqual(0);
    expect(sum).toBeLessThan(60);
    await waitFor(async () => {
      const live = await metricValue(node, 'identipay_ws_sockets', { state: 'live' });
      return live === 0;
    }, 'the live sockets gauge to return to 0');
  });

  it('observes no push latency for a settlement no socket watches', async () => {
    const txId = await createProposal(node);
    const before = await histogramValue(node, 'identipay_push_latency_seconds', 'count');
    expect((await node.api('POST', `/sandbox/transactions/${txId}/pay`)).status).toBe(202);
    await waitFor(async () => {
      const answer = await node.api('GET', `${API}/transactions/${txId}/status`, {
        key: demoKey(node),
      });
      return answer.body.status === 'settled';
    }, 'the settlement to be indexed');
    expect(await histogramValue(node, 'identipay_push_latency_seconds', 'count')).toBe(before);
  });
});

/** Resolves with how long the server took to end the connection, and what it sent first. */
function stalledClient(port: number, partial: string): Promise<{ afterMs: number; text: string }> {
  const socket: Socket = connect(port, '127.0.0.1');
  let text = '';
  const started = Date.now();
  socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
  socket.on('error', () => {});
  socket.once('connect', () => socket.write(partial));
  return new Promise((resolve) =>
    socket.once('close', () => resolve({ afterMs: Date.now() - started, text })),
  );
}

describe('slow-loris protection', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode({
      HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
      HTTP_REQUEST_TIMEOUT_MS: '1000',
      HTTP_KEEP_ALIVE_TIMEOUT_MS: '500',
    });
  });
  afterAll(async () => {
    await node.stop();
  });

  it('drops an upgrade request that never completes its headers within HTTP_HEADERS_TIMEOUT_MS', async () => {
    const txId = await createProposal(node);
    const partial =
      `GET /ws/transactions/${txId} HTTP/1.1\r\nHost: localhost\r\n` +
      'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n';
    const { afterMs, text } = await withTimeout(
      stalledClient(node.port, partial),
      HEADERS_TIMEOUT_MS + SWEEP_SLACK_MS + 5_000,
      'the server to drop the stalled upgrade',
    );
    expect(afterMs).toBeLessThan(HEADERS_TIMEOUT_MS + SWEEP_SLACK_MS);
    expect(text).not.toContain('101 Switching Protocols');
    expect(node.hub.openSockets).toBe(0);
  });

  it('drops a client that sends half a request line and stalls', async () => {
    const { afterMs, text } = await withTimeout(
      stalledClient(node.port, 'GET /api/identipay/v1/trans'),
      HEADERS_TIMEOUT_MS + SWEEP_SLACK_MS + 5_000,
      'the server to drop the stalled request',
    );
    expect(afterMs).toBeLessThan(HEADERS_TIMEOUT_MS + SWEEP_SLACK_MS);
    expect(text === '' || text.startsWith('HTTP/1.1 408')).toBe(true);
  });

  it('still serves a normal request', async () => {
    expect((await node.api('GET', '/health')).status).toBe(200);
  });
});
