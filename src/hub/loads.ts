import type { TransactionState } from '../store/index.js';

/** One read of many transactions' states; the ones it does not return do not exist. */
export type ReadStates = (transactionIds: readonly string[]) => Promise<TransactionState[]>;

/** A point query for one, one `in (…)` query for many (when the store offers it). */
export function statesReader(
  loadState: (transactionId: string) => Promise<TransactionState | undefined>,
  loadStates: ReadStates | undefined,
): ReadStates {
  return async (ids) => {
    if (loadStates && ids.length > 1) return loadStates(ids);
    const states = await Promise.all(ids.map((id) => loadState(id)));
    return states.filter((state): state is TransactionState => state !== undefined);
  };
}

/** A batch reads at most this many transactions (one query each). */
const BATCH_MAX = 500;
/**
 * Reads start at most this often (a full batch does not wait). On the embedded database a read
 * costs about 450 µs of CPU plus about 12 µs per transaction in it: one read per connect would
 * cap connects near 2,000/s; one every 20 ms spends about 2 % of a core on the fixed part,
 * whatever the connect rate, for at most 20 ms more before a first status in a burst.
 */
export const DEFAULT_MIN_READ_INTERVAL_MS = 20;

/** The read of a batch: the states found, by transaction id, or why the read failed. */
export type BatchResult = Map<string, TransactionState> | Error;

/**
 * First reads of watched transactions, batched: a read asked for while the previous one is in
 * flight, or within `minIntervalMs` of its start, waits and goes out with every other one asked
 * for meanwhile, as one `where id in (…)` query. A connect that finds no read for a while is read
 * at the end of its event-loop turn (with the upgrades that arrived together); a burst of
 * connects costs one query per interval, not one each. Nothing is allocated per item: the
 * items (the hub's topics) queue as they are and come back to `done` a batch at a time.
 */
export class BatchedReads<Item extends { readonly id: string }> {
  private queue: Item[] = [];
  private inFlight = false;
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private lastReadAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly read: ReadStates,
    private readonly done: (items: Item[], result: BatchResult) => void,
    private readonly minIntervalMs = DEFAULT_MIN_READ_INTERVAL_MS,
  ) {}

  load(item: Item): void {
    this.queue.push(item);
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.inFlight || this.queue.length === 0) return;
    const wait =
      this.queue.length >= BATCH_MAX ? 0 : this.lastReadAt + this.minIntervalMs - performance.now();
    this.timer = wait > 0 ? setTimeout(this.start, wait) : setImmediate(this.start);
  }

  private readonly start = (): void => {
    this.timer = undefined;
    const items = this.queue.splice(0, BATCH_MAX);
    this.inFlight = true;
    this.lastReadAt = performance.now();
    this.read(items.map((item) => item.id))
      .then(
        (states): BatchResult => new Map(states.map((state) => [state.transactionId, state])),
        (error: unknown): BatchResult =>
          error instanceof Error ? error : new Error(String(error)),
      )
      .then((result) => {
        this.inFlight = false;
        // The next read is scheduled before the answers go out, whatever they do.
        this.schedule();
        this.done(items, result);
      });
  };
}
