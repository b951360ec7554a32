import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ServerMessage, TransitionRecord } from '../wire/index.js';
import {
  NotFoundError,
  watchTransaction,
  type FetchLike,
  type WatchEvent,
  type WatchOptions,
} from './index.js';

const TX = '550e8400-e29b-41d4-a716-446655440000';
const tick = () => vi.advanceTimersByTimeAsync(0);

/** A scripted WebSocket: each instance runs the current `script` once constructed. */
class FakeSocket {
  static instances: FakeSocket[] = [];
  static script: (socket: FakeSocket) => void = (socket) => socket.fail();
  private readonly listeners = new Map<string, ((event: unknown) => void)[]>();
  closedByClient = false;
  private closed = false;

  constructor(readonly url: string) {
    FakeSocket.instances.push(this);
    void Promise.resolve().then(() => FakeSocket.script(this));
  }
  addEventListener(type: string, listener: (event: unknown) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }
  private fire(type: string, event: unknown): void {
    for (const listener of this.listeners.get(type) ?? []) listener(event);
  }
  open(): void {
    this.fire('open', {});
  }
  push(message: ServerMessage): void {
    this.fire('message', { data: JSON.stringify(message) });
  }
  fail(): void {
    this.fire('error', {});
    this.serverClose(1006);
  }
  serverClose(code: number, reason = ''): void {
    if (this.closed) return;
    this.closed = true;
    this.fire('close', { code, reason });
  }
  close(code = 1000, reason = ''): void {
    this.closedByClient = true;
    this.serverClose(code, reason);
  }
}

const status = (version: number, s: 'pending' | 'cancelled' = 'pending'): ServerMessage => ({
  type: 'status',
  transactionId: TX,
  status: s,
  suiTxDigest: null,
  version,
  pushedAt: new Date(0).toISOString(),
});
const settlement = (version: number): ServerMessage => ({
  type: 'settlement',
  transactionId: TX,
  status: 'settled',
  suiTxDigest: 'digest',
  version,
  late: false,
  checkpointTimestamp: null,
  pushedAt: new Date(0).toISOString(),
});
const transition = (version: number, event: TransitionRecord['event']): TransitionRecord => ({
  version,
  status: event === 'created' ? 'pending' : event,
  event,
  suiTxDigest: event === 'settled' ? 'digest' : null,
  late: false,
  at: new Date(0).toISOString(),
});

function restReturning(answers: { status: number; body: unknown }[]) {
  const calls: { url: string; auth: string | undefined }[] = [];
  const fetch: FetchLike = (url, init) => {
    calls.push({ url, auth: init.headers.authorization });
    const answer = answers.length > 1 ? answers.shift() : answers[0];
    if (!answer) return Promise.reject(new Error('no answer'));
    return Promise.resolve({ status: answer.status, json: () => Promise.resolve(answer.body) });
  };
  return { fetch, calls };
}
const body = (version: number, transitions: TransitionRecord[]) => ({
  transactionId: TX,
  status: transitions.at(-1)?.status ?? 'pending',
  suiTxDigest: null,
  settledAt: null,
  version,
  late: false,
  transitions,
});

function watch(options: Partial<WatchOptions> = {}) {
  const events: WatchEvent[] = [];
  const handle = watchTransaction(TX, {
    baseUrl: 'http://status.test',
    WebSocket: FakeSocket,
    backoff: { baseMs: 100, capMs: 1_000, random: () => 0.5 },
    onEvent: (event) => events.push(event),
    ...options,
  });
  const kinds = () =>
    events.map((e) =>
      e.type === 'status' || e.type === 'settlement'
        ? `${e.type}:${e.message.version}:${e.via}`
        : e.type,
    );
  return { handle, events, kinds };
}

beforeEach(() => {
  vi.useFakeTimers();
  FakeSocket.instances = [];
  FakeSocket.script = (socket) => socket.fail();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('watchTransaction reconnecting', () => {
  it('waits a full-jitter exponential delay between failed connects', async () => {
    const { handle } = watch();
    await tick();
    expect(FakeSocket.instances).toHaveLength(1);
    for (const delay of [50, 100, 200, 400, 500, 500]) {
      await vi.advanceTimersByTimeAsync(delay - 1);
      const before = FakeSocket.instances.length;
      await vi.advanceTimersByTimeAsync(1);
      expect(FakeSocket.instances.length).toBe(before + 1);
    }
    handle.close();
    expect((await handle.done).reason).toBe('aborted');
  });

  it('resets the delay after a connection opened, and resumes with since', async () => {
    const { handle, kinds } = watch();
    await tick();
    await vi.advanceTimersByTimeAsync(50 + 100); // two more failures: next delay would be 200
    FakeSocket.script = (socket) => {
      socket.open();
      socket.push(status(1));
      socket.serverClose(1001);
    };
    await vi.advanceTimersByTimeAsync(200);
    const count = FakeSocket.instances.length;
    FakeSocket.script = (socket) => {
      socket.open();
      socket.push(status(1)); // a duplicate the version gate drops
      socket.push(settlement(2));
      socket.serverClose(1000);
    };
    await vi.advanceTimersByTimeAsync(50); // back to the base ceiling
    expect(FakeSocket.instances.length).toBe(count + 1);
    expect(FakeSocket.instances.at(-1)?.url).toBe(`ws://status.test/ws/transactions/${TX}?since=1`);
    const final = await handle.done;
    expect(final).toMatchObject({ reason: 'terminal', status: 'settled' });
    expect(kinds().filter((k) => k !== 'error')).toEqual([
      'status:1:websocket',
      'settlement:2:websocket',
      'final',
    ]);
  });

  it('stops at once on 4404 and the iterator throws NotFoundError', async () => {
    FakeSocket.script = (socket) => {
      socket.open();
      socket.push({ type: 'error', message: 'Transaction not found' });
      socket.serverClose(4404, 'Not found');
    };
    const { handle } = watch();
    const seen: string[] = [];
    const iterate = (async () => {
      for await (const event of handle) seen.push(event.type);
    })();
    await expect(iterate).rejects.toThrow(NotFoundError);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(FakeSocket.instances).toHaveLength(1);
    expect(seen).toEqual(['final']);
    expect((await handle.done).error?.message).toBe('Transaction not found');
  });

  it('closes the open socket and ends when the signal aborts', async () => {
    FakeSocket.script = (socket) => {
      socket.open();
      socket.push(status(1));
    };
    const controller = new AbortController();
    const { handle, kinds } = watch({ signal: controller.signal });
    await tick();
    controller.abort();
    expect(await handle.done).toMatchObject({ reason: 'aborted', status: 'pending' });
    expect(FakeSocket.instances.map((s) => s.closedByClient)).toEqual([true]);
    expect(kinds()).toEqual(['status:1:websocket', 'final']);
  });

  it('stops the watch when a for-await loop is left early', async () => {
    FakeSocket.script = (socket) => {
      socket.open();
      socket.push(status(1));
    };
    const { handle } = watch();
    for await (const event of handle) if (event.type === 'status') break;
    expect(await handle.done).toMatchObject({ reason: 'aborted' });
    expect(FakeSocket.instances.map((s) => s.closedByClient)).toEqual([true]);
  });

  it('stops on 4400 without retrying', async () => {
    FakeSocket.script = (socket) => socket.serverClose(4400, 'Bad request');
    const { handle } = watch();
    expect(await handle.done).toMatchObject({ reason: 'bad_request' });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(FakeSocket.instances).toHaveLength(1);
  });
});

describe('watchTransaction falling back to polling', () => {
  it('keeps retrying the WebSocket without an apiKey', async () => {
    const rest = restReturning([{ status: 200, body: body(1, []) }]);
    const { handle } = watch({ fetch: rest.fetch, fallbackAfterFailures: 2 });
    await vi.advanceTimersByTimeAsync(5_000);
    expect(FakeSocket.instances.length).toBeGreaterThan(5);
    expect(rest.calls).toEqual([]);
    handle.close();
    await handle.done;
  });

  it('polls with the API key after repeated failures and emits the same events', async () => {
    const rest = restReturning([
      { status: 503, body: { error: 'unavailable', message: 'down' } },
      { status: 200, body: body(1, [transition(1, 'created')]) },
      { status: 200, body: body(1, []) },
      { status: 200, body: body(2, [transition(2, 'settled')]) },
    ]);
    const { handle, kinds } = watch({
      apiKey: 'key',
      fetch: rest.fetch,
      fallbackAfterFailures: 2,
      pollIntervalMs: 1_000,
    });
    await tick();
    await vi.advanceTimersByTimeAsync(50); // second failure: now polling
    expect(FakeSocket.instances).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(3_000);
    const final = await handle.done;
    expect(final).toMatchObject({ reason: 'terminal', status: 'settled' });
    expect(rest.calls.map((c) => c.url.split('?')[1])).toEqual([
      'since=0',
      'since=0',
      'since=1',
      'since=1',
    ]);
    expect(rest.calls[0]).toEqual({
      url: `http://status.test/api/identipay/v1/transactions/${TX}/status?since=0`,
      auth: 'Bearer key',
    });
    expect(kinds()).toEqual([
      'error',
      'error',
      'error',
      'status:1:polling',
      'settlement:2:polling',
      'final',
    ]);
  });

  it('tries the WebSocket again while polling and returns to it when it works', async () => {
    const rest = restReturning([
      { status: 200, body: body(1, [transition(1, 'created')]) },
      { status: 200, body: body(1, []) },
    ]);
    const { handle, kinds } = watch({
      apiKey: 'key',
      fetch: rest.fetch,
      fallbackAfterFailures: 1,
      pollIntervalMs: 1_000,
      wsRetryIntervalMs: 3_000,
    });
    await tick();
    expect(rest.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(3_000); // one WebSocket retry fails: polling again
    expect(FakeSocket.instances).toHaveLength(2);
    FakeSocket.script = (socket) => {
      socket.open();
      socket.push(status(2, 'cancelled'));
      socket.serverClose(1000);
    };
    await vi.advanceTimersByTimeAsync(3_000);
    expect(FakeSocket.instances.at(-1)?.url).toContain('?since=1');
    expect(await handle.done).toMatchObject({ reason: 'terminal', status: 'cancelled' });
    const polls = rest.calls.length;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(rest.calls).toHaveLength(polls);
    expect(kinds().filter((k) => k !== 'error')).toEqual([
      'status:1:polling',
      'status:2:websocket',
      'final',
    ]);
  });

  it("polls the merchant's own pollUrl without a key, appending since to its query", async () => {
    const rest = restReturning([
      { status: 200, body: body(1, [transition(1, 'created')]) },
      { status: 200, body: body(2, [transition(2, 'settled')]) },
    ]);
    const { handle, kinds } = watch({
      pollUrl: (id) => `/shop/payments/${id}/status?shop=1`,
      fetch: rest.fetch,
      fallbackAfterFailures: 1,
      pollIntervalMs: 1_000,
    });
    await tick();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await handle.done).toMatchObject({ reason: 'terminal', status: 'settled' });
    expect(rest.calls).toEqual([
      { url: `/shop/payments/${TX}/status?shop=1&since=0`, auth: undefined },
      { url: `/shop/payments/${TX}/status?shop=1&since=1`, auth: undefined },
    ]);
    expect(kinds().filter((k) => k !== 'error')).toEqual([
      'status:1:polling',
      'settlement:2:polling',
      'final',
    ]);
  });

  it('ends when polling resumes at the final version already (since = last version)', async () => {
    const rest = restReturning([
      { status: 200, body: { ...body(2, []), status: 'settled', suiTxDigest: 'digest' } },
    ]);
    const { handle, kinds } = watch({
      apiKey: 'key',
      since: 2,
      fetch: rest.fetch,
      fallbackAfterFailures: 1,
    });
    await tick();
    expect(await handle.done).toMatchObject({ reason: 'terminal', status: 'settled' });
    expect(rest.calls.map((c) => c.url.split('?')[1])).toEqual(['since=2']);
    expect(kinds().filter((k) => k !== 'error')).toEqual(['final']);
  });

  it('stops with NotFoundError when the status route answers 404', async () => {
    const rest = restReturning([
      { status: 404, body: { error: 'not_found', message: 'Transaction not found' } },
    ]);
    const { handle } = watch({ apiKey: 'key', fetch: rest.fetch, fallbackAfterFailures: 1 });
    const final = await handle.done;
    expect(final.error).toBeInstanceOf(NotFoundError);
    expect(final.reason).toBe('not_found');
  });
});
