import type { Logger } from 'pino';
import type { Bus } from '../bus/index.js';
import type { Store } from '../store/index.js';

export interface ExpirySweeperDeps {
  store: Store;
  bus: Bus;
  logger: Logger;
  /** The longest a node goes without looking for due proposals (those made by other nodes). */
  intervalMs: number;
  now: () => Date;
  /** Most proposals expired per statement; a backlog is drained batch after batch. */
  batchSize?: number;
}

export interface ExpirySweeper {
  /** A proposal made here expires at `expiresAt`: the sweep runs then, not up to an interval late. */
  expect(expiresAt: Date): void;
  stop(): Promise<void>;
}

/**
 * Moves pending proposals past their expiresAt to expired and publishes each change. Runs on
 * every node: the conditional UPDATE (and SKIP LOCKED) makes each expiry happen exactly once.
 *
 * A sweep runs when the earliest pending expiry is due, not on a fixed beat. Each sweep reads
 * that expiry (the first entry of the pending-expiry index) and sleeps until it, or for at most
 * `intervalMs`; a proposal made on this node moves the wake-up earlier (`expect`). A node at
 * rest then reads the store once per interval instead of twice a second, and a proposal made
 * here expires on time. One made on another node and due before this node's next look is
 * expired by its own node; were that node gone, by this one within the interval.
 */
export function startExpirySweeper(deps: ExpirySweeperDeps): ExpirySweeper {
  const batchSize = deps.batchSize ?? 500;
  let timer: NodeJS.Timeout | undefined;
  /** When the timer fires (epoch ms); meaningless while a sweep runs. */
  let wakeAt = Number.POSITIVE_INFINITY;
  /** Expiries announced while a sweep runs, kept for the wake-up it schedules. */
  let expectedDuringSweep = Number.POSITIVE_INFINITY;
  let running: Promise<void> | undefined;
  let stopped = false;

  /** Expires what is due; resolves with the next pending expiry after that (epoch ms), if any. */
  const sweep = async (): Promise<number> => {
    for (;;) {
      const next = (await deps.store.proposals.nextExpiry())?.getTime();
      if (next === undefined || next > deps.now().getTime() || stopped) {
        return next ?? Number.POSITIVE_INFINITY;
      }
      const now = deps.now();
      const expired = await deps.store.proposals.expireDue(now, batchSize);
      if (expired.length > 0) {
        deps.logger.debug({ count: expired.length }, 'proposals expired');
        await deps.bus.publish(expired);
      }
      if (expired.length < batchSize) {
        // What is still due is being expired by another node (SKIP LOCKED): wake for what follows.
        return (await deps.store.proposals.nextExpiry(now))?.getTime() ?? Number.POSITIVE_INFINITY;
      }
    }
  };

  /** Sets the one timer: at `at`, at once if that has passed, in `intervalMs` at the latest. */
  const schedule = (at: number) => {
    if (stopped) return;
    clearTimeout(timer);
    const now = deps.now().getTime();
    wakeAt = Math.min(Math.max(at, now), now + deps.intervalMs);
    timer = setTimeout(tick, wakeAt - now);
  };

  const tick = () => {
    timer = undefined;
    wakeAt = Number.POSITIVE_INFINITY;
    running = sweep()
      .catch((error: unknown) => {
        deps.logger.error({ err: error }, 'expiry sweep failed');
        return Number.POSITIVE_INFINITY;
      })
      .then((next) => {
        running = undefined;
        const expected = expectedDuringSweep;
        expectedDuringSweep = Number.POSITIVE_INFINITY;
        schedule(Math.min(next, expected));
      });
  };

  tick();

  return {
    expect(expiresAt) {
      const at = expiresAt.getTime();
      if (running) expectedDuringSweep = Math.min(expectedDuringSweep, at);
      else if (at < wakeAt) schedule(at);
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
