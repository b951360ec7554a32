import { randomUUID } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { RecordingSocket, state } from '../../test/support/hub.js';
import type { TransactionState } from '../store/index.js';
import { Hub } from './index.js';

/** A hub whose every read is counted, over a store holding `stored`. */
function countingHub(stored: readonly TransactionState[]) {
  const byId = new Map(stored.map((entry) => [entry.transactionId, entry]));
  const loadState = vi.fn(async (id: string) => byId.get(id));
  const loadStates = vi.fn(async (ids: readonly string[]) =>
    ids.flatMap((id) => byId.get(id) ?? []),
  );
  const loadHistory = vi.fn(async () => []);
  const hub = new Hub({ loadState, loadStates, loadHistory, minReadIntervalMs: 0 });
  const reads = () =>
    loadState.mock.calls.length + loadStates.mock.calls.length + loadHistory.mock.calls.length;
  return { hub, reads };
}

/** Pages handed out one at a time, when the test says so. */
function pagesOnDemand() {
  const queue: ((page: TransactionState[] | undefined) => void)[] = [];
  let asked: () => void = () => {};
  async function* pages(): AsyncGenerator<TransactionState[]> {
    for (;;) {
      const page = await new Promise<TransactionState[] | undefined>((resolve) => {
        queue.push(resolve);
        asked();
      });
      if (!page) return;
      yield page;
    }
  }
  /** Resolves once the preload waits for its next page. */
  const waitingForPage = () =>
    queue.length > 0
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          asked = resolve;
        });
  const give = async (page: TransactionState[] | undefined) => {
    await waitingForPage();
    queue.shift()?.(page);
  };
  return { pages: pages(), give, waitingForPage };
}

async function* onePage(page: TransactionState[]): AsyncGenerator<TransactionState[]> {
  yield page;
}

const statuses = (socket: RecordingSocket) =>
  socket.frames.map((f) => [f.type, f.status, f.version]);

describe('hub preload', () => {
  it('answers a connect to a preloaded transaction from memory, then pushes its settlement', async () => {
    const id = randomUUID();
    const { hub, reads } = countingHub([state(id, 'pending', 1)]);
    expect(await hub.preload(onePage([state(id, 'pending', 1)]))).toBe(1);

    const socket = new RecordingSocket();
    const watch = hub.watch(id, socket);
    await watch.ready;
    hub.deliver([state(id, 'settled', 2)]);

    expect(reads()).toBe(0);
    expect(statuses(socket)).toEqual([
      ['status', 'pending', 1],
      ['settlement', 'settled', 2],
    ]);
    expect(socket.closedWith?.code).toBe(1000);
    // Moved to the watched transaction, not kept twice; forgotten with its last socket.
    expect(hub.preloadedTransactions).toBe(0);
  });

  it('keeps what was delivered while a page was read, when the page is older', async () => {
    const id = randomUUID();
    const { hub } = countingHub([]);
    const { pages, give } = pagesOnDemand();
    const preloading = hub.preload(pages);
    // Committed (and delivered) after the page's read, before its answer.
    hub.deliver([state(id, 'cancelled', 2)]);
    await give([state(id, 'pending', 1)]);
    await give(undefined);
    await preloading;

    const socket = new RecordingSocket();
    await hub.watch(id, socket).ready;
    expect(statuses(socket)).toEqual([['status', 'cancelled', 2]]);
  });

  it('keeps preloaded states current after the preload, and ignores others', async () => {
    const [open, other] = [randomUUID(), randomUUID()];
    const { hub } = countingHub([state(other, 'pending', 1)]);
    await hub.preload(onePage([state(open, 'pending', 1)]));
    hub.deliver([state(open, 'expired', 2), state(other, 'cancelled', 2)]);

    expect(hub.preloadedTransactions).toBe(1);
    const socket = new RecordingSocket();
    await hub.watch(open, socket).ready;
    expect(statuses(socket)).toEqual([['status', 'expired', 2]]);
  });

  it('drops what it preloaded at a resync, and stops preloading', async () => {
    const [first, second] = [randomUUID(), randomUUID()];
    const stored = [state(first, 'settled', 2), state(second, 'pending', 1)];
    const { hub, reads } = countingHub(stored);
    const { pages, give, waitingForPage } = pagesOnDemand();
    const preloading = hub.preload(pages);
    await give([state(first, 'pending', 1)]);
    await waitingForPage();
    expect(hub.preloadedTransactions).toBe(1);
    // A notification lost meanwhile: the store has `first` settled, the preload does not.
    await hub.resync();
    expect(hub.preloadedTransactions).toBe(0);
    await give([state(second, 'pending', 1)]);
    expect(await preloading).toBe(0);

    const socket = new RecordingSocket();
    await hub.watch(first, socket).ready;
    expect(reads()).toBe(1);
    expect(statuses(socket)).toEqual([['status', 'settled', 2]]);
  });

  it('lets a resume at the current version go live without reading or sending', async () => {
    const id = randomUUID();
    const { hub, reads } = countingHub([state(id, 'pending', 1)]);
    await hub.preload(onePage([state(id, 'pending', 1)]));

    const socket = new RecordingSocket();
    await hub.watch(id, socket, 1).ready;
    expect(socket.frames).toEqual([]);
    hub.deliver([state(id, 'settled', 2)]);

    expect(reads()).toBe(0);
    expect(statuses(socket)).toEqual([['settlement', 'settled', 2]]);
  });

  it('closes a resume at the final version of a finished transaction without a message', async () => {
    const id = randomUUID();
    const { hub, reads } = countingHub([state(id, 'expired', 2)]);
    await hub.preload(onePage([state(id, 'expired', 2)]));

    const socket = new RecordingSocket();
    await hub.watch(id, socket, 2).ready;
    expect(reads()).toBe(0);
    expect(socket.frames).toEqual([]);
    expect(socket.closedWith).toEqual({ code: 1000, reason: 'Transaction expired' });
  });

  it('reads the log for a resume behind what it preloaded', async () => {
    const id = randomUUID();
    const { hub, reads } = countingHub([state(id, 'settled', 2)]);
    await hub.preload(onePage([state(id, 'settled', 2)]));

    const socket = new RecordingSocket();
    await hub.watch(id, socket, 1).ready;
    expect(reads()).toBeGreaterThan(0);
  });
});
