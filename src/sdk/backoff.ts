/** Exponential backoff with full jitter: each delay is uniform in [0, min(cap, base * factor^n)). */
export interface BackoffOptions {
  baseMs?: number;
  capMs?: number;
  factor?: number;
  /** Injected for tests; defaults to Math.random. */
  random?: () => number;
}

export interface Backoff {
  /** The next delay in milliseconds; each call grows the ceiling until the cap. */
  next(): number;
  /** After a successful connection: the next delay starts from the base again. */
  reset(): void;
}

export function createBackoff(options: BackoffOptions = {}): Backoff {
  const { baseMs = 500, capMs = 30_000, factor = 2, random = Math.random } = options;
  let attempt = 0;
  return {
    next() {
      const ceiling = Math.min(capMs, baseMs * factor ** attempt);
      // Stop growing once capped so the exponent cannot overflow to Infinity.
      if (ceiling < capMs) attempt += 1;
      return Math.floor(random() * ceiling);
    },
    reset() {
      attempt = 0;
    },
  };
}
