import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  NotFoundError,
  watchTransaction,
  type WatchEvent,
  type WatchOptions,
} from '../src/sdk/index.js';
import { waitFor } from './support/wait.js';
import { createProposal, demoKey, startTestNode, type TestNode } from './support/node.js';

/** Collects a watch's events and awaits the first one matching, with a timeout. */
function recorder() {
  const events: WatchEvent[] = [];
  const waiters: { match: (event: WatchEvent) => boolean; resolve: (event: WatchEvent) => void }[] =
    [];
  const onEvent = (event: WatchEvent) => {
    events.push(event);
    for (const waiter of waiters.filter((w) => w.match(event))) waiter.resolve(event);
  };
  const next = (match: (event: WatchEvent) => boolean, what: string, timeoutMs = 10_000) =>
    new Promise<WatchEvent>((resolve, reject) => {
      const seen = events.find(match);
      if (seen) return resolve(seen);
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
      waiters.push({ match, resolve: (event) => (clearTimeout(timer), resolve(event)) });
    });
  const versions = () =>
    events.flatMap((e) =>
      e.type === 'status' || e.type === 'settlement' ? [[e.type, e.message.version, e.via]] : [],
    );
  return { events, onEvent, next, versions };
}

/** The `ws` package's WebSocket, recording every URL it is asked to open. */
function recordingWebSocket(urls: string[], rewrite: (url: string) => string = (url) => url) {
  return class extends WebSocket {
    constructor(url: string) {
      urls.push(url);
      super(rewrite(url));
    }
  };
}

describe('client SDK against a real node', () => {
  let node: TestNode;
  const fast: Partial<WatchOptions> = { backoff: { baseMs: 20, capMs: 200 } };

  beforeAll(async () => {
    node = await startTestNode({ CHAIN_POLL_MS: '50' });
  });
  afterAll(async () => {
    await node.stop();
  });

  const pay = (txId: string) => node.api('POST', `/sandbox/transactions/${txId}/pay`);

  it('receives the status, then the settlement, and ends with final settled', async () => {
    const txId = await createProposal(node);
    const rec = recorder();
    const watch = watchTransaction(txId, {
      baseUrl: node.url,
      WebSocket,
      onEvent: rec.onEvent,
      ...fast,
    });
    await rec.next((e) => e.type === 'status', 'the pending status');
    const digest = (await pay(txId)).body.txDigest as string;
    const seen: WatchEvent[] = [];
    for await (const event of watch) seen.push(event);
    expect(seen.at(-1)).toEqual({ type: 'final', status: 'settled', reason: 'terminal' });
    expect(rec.versions()).toEqual([
      ['status', 1, 'websocket'],
      ['settlement', 2, 'websocket'],
    ]);
    const settlement = seen.find((e) => e.type === 'settlement');
    expect(settlement?.type === 'settlement' && settlement.message.suiTxDigest).toBe(digest);
  });

  it('reconnects with since after the server closes the socket and delivers the settlement once', async () => {
    const txId = await createProposal(node);
    const rec = recorder();
    const urls: string[] = [];
    const watch = watchTransaction(txId, {
      baseUrl: node.url,
      WebSocket: recordingWebSocket(urls),
      onEvent: rec.onEvent,
      ...fast,
    });
    await rec.next((e) => e.type === 'status', 'the pending status');
    node.hub.closeAll(1001, 'test');
    await rec.next((e) => e.type === 'error', 'the dropped connection');
    await pay(txId);
    expect(await watch.done).toMatchObject({ reason: 'terminal', status: 'settled' });
    expect(urls[0]).not.toContain('since');
    expect(urls.slice(1).every((url) => url.endsWith('?since=1'))).toBe(true);
    expect(urls.length).toBeGreaterThan(1);
    expect(rec.versions()).toEqual([
      ['status', 1, 'websocket'],
      ['settlement', 2, 'websocket'],
    ]);
  });

  it('stops without retrying when the transaction does not exist', async () => {
    const urls: string[] = [];
    const watch = watchTransaction('00000000-0000-4000-8000-000000000000', {
      baseUrl: node.url,
      WebSocket: recordingWebSocket(urls),
      ...fast,
    });
    const iterate = (async () => {
      for await (const _event of watch);
    })();
    await expect(iterate).rejects.toThrow(NotFoundError);
    expect((await watch.done).error?.message).toBe('Transaction not found');
    expect(urls).toHaveLength(1);
  });

  it('stops and closes its socket when aborted', async () => {
    const txId = await createProposal(node);
    const rec = recorder();
    const controller = new AbortController();
    const watch = watchTransaction(txId, {
      baseUrl: node.url,
      WebSocket,
      signal: controller.signal,
      onEvent: rec.onEvent,
      ...fast,
    });
    await rec.next((e) => e.type === 'status', 'the pending status');
    const watchers = node.hub.openSockets;
    controller.abort();
    expect(await watch.done).toMatchObject({ type: 'final', reason: 'aborted', status: 'pending' });
    await waitFor(() => node.hub.openSockets < watchers, 'the server to see the close');
  });

  it('falls back to polling the status route when WebSocket upgrades are refused', async () => {
    const txId = await createProposal(node);
    const rec = recorder();
    const urls: string[] = [];
    // Every upgrade goes to a path the server refuses with a plain 404.
    const Refused = recordingWebSocket(urls, (url) =>
      url.replace(/\/ws\/transactions\/.*$/, '/nope'),
    );
    const watch = watchTransaction(txId, {
      baseUrl: node.url,
      apiKey: demoKey(node),
      WebSocket: Refused,
      onEvent: rec.onEvent,
      fallbackAfterFailures: 2,
      pollIntervalMs: 50,
      ...fast,
    });
    await rec.next((e) => e.type === 'status', 'the pending status via polling');
    await pay(txId);
    expect(await watch.done).toMatchObject({ reason: 'terminal', status: 'settled' });
    expect(rec.versions()).toEqual([
      ['status', 1, 'polling'],
      ['settlement', 2, 'polling'],
    ]);
    expect(urls).toHaveLength(2);
  });
});
