/**
 * Token buckets keyed by a string (a client IP, an API key's hash). Each key may spend up to
 * `perMinute` at once and earns them back at `perMinute` per minute, continuously.
 *
 * Memory: one small entry per key seen lately. A bucket that has refilled completely is the
 * same as no bucket, so such entries are dropped whenever the map has doubled since the last
 * pruning (amortised O(1) per call; no timer).
 */
interface Bucket {
  tokens: number;
  updatedMs: number;
}

/** Pruning starts once this many keys are held. */
const MIN_PRUNE_SIZE = 1024;

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly tokensPerMs: number;
  private pruneAtSize = MIN_PRUNE_SIZE;

  /** `perMinute` 0: unlimited (every call is allowed, nothing is stored). */
  constructor(
    readonly perMinute: number,
    private readonly nowMs: () => number = Date.now,
  ) {
    this.tokensPerMs = perMinute / 60_000;
  }

  /**
   * Spends one token of `key`: 0 when allowed, otherwise the whole seconds (at least 1) until
   * a token is available again (what `Retry-After` says).
   */
  take(key: string): number {
    if (this.perMinute === 0) return 0;
    const now = this.nowMs();
    let bucket = this.buckets.get(key);
    if (bucket) {
      bucket.tokens = Math.min(
        this.perMinute,
        bucket.tokens + (now - bucket.updatedMs) * this.tokensPerMs,
      );
      bucket.updatedMs = now;
    } else {
      if (this.buckets.size >= this.pruneAtSize) this.prune(now);
      bucket = { tokens: this.perMinute, updatedMs: now };
      this.buckets.set(key, bucket);
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.tokensPerMs / 1000));
  }

  /** Keys currently held (tests, and to see that memory stays bounded). */
  get size(): number {
    return this.buckets.size;
  }

  private prune(now: number): void {
    for (const [key, bucket] of this.buckets) {
      const tokens = bucket.tokens + (now - bucket.updatedMs) * this.tokensPerMs;
      if (tokens >= this.perMinute) this.buckets.delete(key);
    }
    this.pruneAtSize = Math.max(MIN_PRUNE_SIZE, this.buckets.size * 2);
  }
}
