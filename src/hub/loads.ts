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
 * Reads start at most this often. On the embedded database a read costs about 450 µs of CPU
 * plus 12 µs per transaction in it: one read per connect would cap connects near 2,000/s, one
 * every 5 ms spends under a tenth of a core on the fixed part whatever the connect rate.
 */
export const DEFAULT_MIN_READ_INTERVAL_MS = 20;

/**
 * First reads of watched transactions, batched: a read asked for while the previous one is in
 * flight, or within `minIntervalMs` of its start, waits and goes out with every other one asked
 * for meanwhile, as one `where id in (…)` query. A connect that finds no read for a while is read
 * at once (no added latency); a burst of connects costs one query per interval, not one each.
 */
export class BatchedReads {
  private queue: string[] = [];
  private waiters: ((result: Map<string, TransactionState> | Error) => void)[] = [];
  private inFlight = false;
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private lastReadAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly read: ReadStates,
    private readonly minIntervalMs = DEFAULT_MIN_READ_INTERVAL_MS,
  ) {}

  /** Resolves with the state, or undefined when the transaction does not exist. */
  load(transactionId: string): Promise<TransactionState | undefined> {
    return new Promise((resolve, reject) => {
      this.queue.push(transactionId);
      this.waiters.push((result) => {
        if (result instanceof Error) reject(result);
        else resolve(result.get(transactionId));
      });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.timer || this.inFlight || this.queue.length === 0) return;
    const wait = this.lastReadAt + this.minIntervalMs - performance.now();
    // Even a read due now waits for the end of this turn: upgrades that arrived together join.
    this.timer = wait > 0 ? setTimeout(this.start, wait) : setImmediate(this.start);
  }

  private readonly start = (): void => {
    this.timer = undefined;
    const ids = this.queue.splice(0, BATCH_MAX);
    const waiters = this.waiters.splice(0, BATCH_MAX);
    this.inFlight = true;
    this.lastReadAt = performance.now();
    this.read(ids)
      .then(
        (states) => {
          const byId = new Map(states.map((state) => [state.transactionId, state]));
          for (const waiter of waiters) waiter(byId);
        },
        (error: unknown) => {
          const failure = error instanceof Error ? error : new Error(String(error));
          for (const waiter of waiters) waiter(failure);
        },
      )
      .finally(() => {
        this.inFlight = false;
        this.schedule();
      });
  };
}
