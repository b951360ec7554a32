import type { Logger } from 'pino';
import type { TransactionState } from '../store/index.js';
import type { Bus } from './index.js';

/**
 * A committed transition must reach the other nodes even if this node's publish connection
 * is down at that moment (their subscriptions may be healthy, so no resync would fire there).
 * Publishing therefore never fails for the producer: local listeners got the states whatever
 * the engine did (see Bus), and a failed remote send is retried in the background with capped
 * backoff until it succeeds or `giveUpMs` passes. A duplicate on the far side is harmless:
 * hubs drop any version a socket already has.
 */
export function withPublishRetry(
  bus: Bus,
  logger: Logger,
  options: { giveUpMs?: number; maxDelayMs?: number } = {},
): Bus {
  const giveUpMs = options.giveUpMs ?? 120_000;
  const maxDelayMs = options.maxDelayMs ?? 5_000;
  const pending = new Set<NodeJS.Timeout>();
  let closed = false;

  const retry = (states: readonly TransactionState[], firstFailure: number, attempt: number) => {
    const delay = Math.min(maxDelayMs, 100 * 2 ** attempt);
    const timer = setTimeout(() => {
      pending.delete(timer);
      if (closed) return;
      bus.publish(states).catch((error: unknown) => {
        if (Date.now() - firstFailure > giveUpMs) {
          logger.error({ err: error, count: states.length }, 'gave up publishing transitions');
          return;
        }
        retry(states, firstFailure, attempt + 1);
      });
    }, delay);
    timer.unref();
    pending.add(timer);
  };

  return {
    get nodeId() {
      return bus.nodeId;
    },
    get subscribed() {
      return bus.subscribed;
    },
    // Nothing to retry there: the engine took the notification with the commit.
    inTransaction: bus.inTransaction,
    async publish(states) {
      try {
        await bus.publish(states);
      } catch (error) {
        logger.warn({ err: error, count: states.length }, 'publish failed; retrying');
        retry(states, Date.now(), 0);
      }
    },
    subscribe: (listener) => bus.subscribe(listener),
    onResubscribed: (listener) => bus.onResubscribed(listener),
    async close() {
      closed = true;
      for (const timer of pending) clearTimeout(timer);
      pending.clear();
      await bus.close();
    },
  };
}
