import { randomUUID } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { RecordingSocket, state } from '../../test/support/hub.js';
import type { TransactionState } from '../store/index.js';
import { Hub } from './index.js';

/** A snapshot read the test finishes when it chooses: the commit can land "during" it. */
function deferredLoad() {
  let finish: (value: TransactionState | undefined) => void = () => {};
  let started: () => void = () => {};
  const inFlight = new Promise<void>((resolve) => {
    started = resolve;
  });
  const loadState = vi.fn(
    () =>
      new Promise<TransactionState | undefined>((resolve) => {
        finish = resolve;
        started();
      }),
  );
  return {
    loadState,
    /** Reads are batched: the read starts a moment after the watch, not during it. */
    inFlight,
    finish: (value: TransactionState | undefined) => finish(value),
  };
}

describe('hub', () => {
  it('sends a transition committed during the snapshot read after the snapshot, in order', async () => {
    const txId = randomUUID();
    const load = deferredLoad();
    const hub = new Hub({ loadState: load.loadState });
    const socket = new RecordingSocket();
    const { ready } = hub.watch(txId, socket);
    await load.inFlight;

    hub.deliver([state(txId, 'cancelled', 2)]);
    load.finish(state(txId, 'pending', 1)); // read before the commit, answered after it
    await ready;

    expect(socket.frames.map((frame) => [frame.status, frame.version])).toEqual([
      ['pending', 1],
      ['cancelled', 2],
    ]);
    expect(socket.closedWith?.code).toBe(1000);
    expect([hub.openSockets, hub.watchedTransactions]).toEqual([0, 0]);
  });

  it('drops a live copy of the version the snapshot already had', async () => {
    const txId = randomUUID();
    const load = deferredLoad();
    const hub = new Hub({ loadState: load.loadState });
    const socket = new RecordingSocket();
    const { ready } = hub.watch(txId, socket);
    await load.inFlight;

    hub.deliver([state(txId, 'cancelled', 2)]);
    load.finish(state(txId, 'cancelled', 2)); // read after the commit
    await ready;

    expect(socket.frames.map((frame) => [frame.status, frame.version])).toEqual([['cancelled', 2]]);
  });

  it('fills a gap from the log when a notification was lost', async () => {
    const txId = randomUUID();
    const history = [
      { ...state(txId, 'expired', 2), event: 'expired' as const, at: new Date() },
      { ...state(txId, 'settled', 3), late: true, event: 'settled' as const, at: new Date() },
    ];
    const hub = new Hub({
      loadState: async () => state(txId, 'pending', 1),
      loadHistory: async (_id, after) => history.filter((entry) => entry.version > after),
    });
    const socket = new RecordingSocket();
    await hub.watch(txId, socket).ready;
    const settled = new Promise<void>((resolve) => {
      const close = socket.closeWith.bind(socket);
      socket.closeWith = (code, reason) => {
        close(code, reason);
        resolve();
      };
    });

    hub.deliver([{ ...state(txId, 'settled', 3), late: true }]); // version 2 never arrived
    await settled;

    expect(socket.frames.map((frame) => [frame.type, frame.version])).toEqual([
      ['status', 1],
      ['status', 2],
    ]);
    expect(socket.closedWith?.code).toBe(1000);
  });

  it('sends a version once even when it is delivered again', async () => {
    const txId = randomUUID();
    const hub = new Hub({ loadState: async () => state(txId, 'pending', 1) });
    const socket = new RecordingSocket();
    const watch = hub.watch(txId, socket);
    await watch.ready;
    hub.deliver([state(txId, 'pending', 1)]);
    expect(socket.frames.map((frame) => frame.version)).toEqual([1]);
    watch.unwatch();
  });

  it('pushes a live settlement as a settlement message, a settled snapshot as a status', async () => {
    const txId = randomUUID();
    const hub = new Hub({ loadState: async () => state(txId, 'pending', 1) });
    const live = new RecordingSocket();
    await hub.watch(txId, live).ready;
    hub.deliver([state(txId, 'settled', 2)]);
    expect(live.frames[1]).toMatchObject({ type: 'settlement', status: 'settled', version: 2 });

    const later = new RecordingSocket();
    const settledHub = new Hub({ loadState: async () => state(txId, 'settled', 2) });
    await settledHub.watch(txId, later).ready;
    expect(later.frames).toEqual([expect.objectContaining({ type: 'status', status: 'settled' })]);
    expect([live.closedWith?.code, later.closedWith?.code]).toEqual([1000, 1000]);
  });

  it('sends "Transaction not found", closes with 4404 and forgets the socket', async () => {
    const hub = new Hub({ loadState: async () => undefined });
    const socket = new RecordingSocket();
    await hub.watch(randomUUID(), socket).ready;
    expect(socket.frames).toEqual([{ type: 'error', message: 'Transaction not found' }]);
    expect(socket.closedWith?.code).toBe(4404);
    expect([hub.openSockets, hub.watchedTransactions]).toEqual([0, 0]);
  });

  it('closes with 1011 and reports the error when the snapshot read fails', async () => {
    const failure = new Error('database unavailable');
    const onError = vi.fn();
    const hub = new Hub({ loadState: () => Promise.reject(failure), onError });
    const socket = new RecordingSocket();
    const txId = randomUUID();
    await hub.watch(txId, socket).ready;
    expect(socket.frames).toEqual([{ type: 'error', message: 'Internal error' }]);
    expect(socket.closedWith?.code).toBe(1011);
    expect(onError).toHaveBeenCalledWith(failure, txId);
    expect(hub.openSockets).toBe(0);
  });

  it('sends nothing to a socket that went away before its snapshot arrived', async () => {
    const txId = randomUUID();
    const load = deferredLoad();
    const hub = new Hub({ loadState: load.loadState });
    const socket = new RecordingSocket();
    const watch = hub.watch(txId, socket);
    watch.unwatch();
    load.finish(state(txId, 'pending', 1));
    await watch.ready;
    hub.deliver([state(txId, 'cancelled', 2)]);
    expect(socket.frames).toEqual([]);
    expect([hub.openSockets, hub.watchedTransactions]).toEqual([0, 0]);
  });

  it('closes every socket with the given code on closeAll', async () => {
    const txIds = [randomUUID(), randomUUID()];
    const hub = new Hub({ loadState: async (id) => state(id, 'pending', 1) });
    const sockets = [new RecordingSocket(), new RecordingSocket(), new RecordingSocket()];
    await Promise.all(sockets.map((socket, i) => hub.watch(txIds[i % 2] ?? '', socket).ready));
    expect([hub.openSockets, hub.watchedTransactions]).toEqual([3, 2]);
    hub.closeAll(1001, 'Server shutting down');
    expect(sockets.map((socket) => socket.closedWith?.code)).toEqual([1001, 1001, 1001]);
    expect([hub.openSockets, hub.watchedTransactions]).toEqual([0, 0]);
  });

  describe('connects', () => {
    it('answers a socket on a transaction already watched here from memory, without a read', async () => {
      const txId = randomUUID();
      const loadState = vi.fn(async () => state(txId, 'pending', 1));
      const hub = new Hub({ loadState });
      const first = new RecordingSocket();
      await hub.watch(txId, first).ready;
      const second = new RecordingSocket();
      const watch = hub.watch(txId, second);
      expect(second.frames).toEqual([expect.objectContaining({ status: 'pending', version: 1 })]);
      await watch.ready;
      expect(loadState).toHaveBeenCalledTimes(1);
    });

    it('reads the transactions of connects that arrive together in one query', async () => {
      const txIds = [randomUUID(), randomUUID(), randomUUID()];
      const loadState = vi.fn(async (id: string) => state(id, 'pending', 1));
      const loadStates = vi.fn(async (ids: readonly string[]) =>
        ids.map((id) => state(id, 'pending', 1)),
      );
      const hub = new Hub({ loadState, loadStates });
      const sockets = txIds.map(() => new RecordingSocket());
      await Promise.all(sockets.map((socket, i) => hub.watch(txIds[i] ?? '', socket).ready));
      expect(loadStates).toHaveBeenCalledTimes(1);
      expect(loadStates).toHaveBeenCalledWith(txIds);
      expect(loadState).not.toHaveBeenCalled();
      expect(sockets.map((socket) => socket.frames.length)).toEqual([1, 1, 1]);
    });

    it('answers from the newest state it was delivered, also while the first read is pending', async () => {
      const txId = randomUUID();
      const load = deferredLoad();
      const hub = new Hub({ loadState: load.loadState });
      const first = new RecordingSocket();
      const firstWatch = hub.watch(txId, first);
      await load.inFlight;
      hub.deliver([state(txId, 'cancelled', 2)]);

      const later = new RecordingSocket();
      hub.watch(txId, later);
      expect(later.frames).toEqual([expect.objectContaining({ status: 'cancelled', version: 2 })]);
      expect(later.closedWith?.code).toBe(1000);

      load.finish(state(txId, 'pending', 1));
      await firstWatch.ready;
      expect(first.frames.map((frame) => frame.version)).toEqual([1, 2]);
      expect(load.loadState).toHaveBeenCalledTimes(1);
    });
  });

  it('serialises a transition once for every socket it goes to', async () => {
    const txId = randomUUID();
    const hub = new Hub({ loadState: async () => state(txId, 'pending', 1) });
    const sockets = [new RecordingSocket(), new RecordingSocket()];
    await Promise.all(sockets.map((socket) => hub.watch(txId, socket).ready));
    hub.deliver([state(txId, 'settled', 2)]);
    expect(sockets[0]?.sent[1]).toBe(sockets[1]?.sent[1]);
  });
});
