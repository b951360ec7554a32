export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
}

/**
 * Capped at 5 s: every second the indexer waits after the chain is back is a second every pending
 * payment waits too (the soak saw 14 s of catch-up after a 5 s outage with a 30 s cap).
 */
export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 250, maxMs: 5_000 };

/**
 * Capped exponential backoff with full jitter: a random delay in [0, min(max, initial·2^attempt)].
 * Full jitter spreads the reconnects of many nodes after a shared outage (public endpoints
 * rate-limit), at the cost of sometimes retrying at once.
 */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(options.maxMs, options.initialMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

/** Resolves after `ms`, or early (with false) when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Error text safe for logs: the message only, never a payload or a stack of request data. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`.slice(0, 500);
  return String(error).slice(0, 500);
}

/** What a call that gave up because `signal` aborted rejects with: the signal's own reason. */
export function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error
    ? reason
    : new DOMException('The operation was aborted', 'AbortError');
}
