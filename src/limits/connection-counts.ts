/**
 * Open connections per key (client IP, transaction id), each capped. A key whose count drops
 * to 0 is removed, so the map holds only keys with open connections.
 */
export class ConnectionCounts {
  private readonly counts = new Map<string, number>();
  private sum = 0;

  /** Counts one more connection for `key` unless it already has `max`; tells which. */
  tryAcquire(key: string, max: number): boolean {
    const current = this.counts.get(key) ?? 0;
    if (current >= max) return false;
    this.counts.set(key, current + 1);
    this.sum++;
    return true;
  }

  /** Releases one connection counted by `tryAcquire` for `key`. */
  release(key: string): void {
    const current = this.counts.get(key);
    if (current === undefined) return;
    if (current <= 1) this.counts.delete(key);
    else this.counts.set(key, current - 1);
    this.sum--;
  }

  count(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  /** Connections counted over all keys. */
  get total(): number {
    return this.sum;
  }

  /** Keys with at least one connection. */
  get keys(): number {
    return this.counts.size;
  }
}
