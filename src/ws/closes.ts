/** What the queue closes: a Connection, as the hub's finish() left it. */
interface Closable {
  closeWith(code: number, reason: string): void;
}

const CLOSE_QUIET_MS = 50;
const CLOSE_MAX_WAIT_MS = 1_000;

/**
 * Closes after a final frame wait until no final frame has been sent on the endpoint for
 * CLOSE_QUIET_MS (at most CLOSE_MAX_WAIT_MS after the first of them), then go out together.
 * A close handshake costs both ends about as much CPU as the message before it: in a burst of
 * settlements, each socket's close right after its message slowed the rest of the burst, on
 * this node and, sharing the cores, on the others (docs/benchmarks.md). One queue per
 * endpoint: several nodes in one process keep their own.
 */
export class DeferredCloses {
  private pending: [Closable, number, string][] = [];
  private firstAt = 0;
  private lastAt = 0;
  private timer: NodeJS.Timeout | undefined;

  add(connection: Closable, code: number, reason: string): void {
    this.lastAt = performance.now();
    if (this.pending.push([connection, code, reason]) > 1) return;
    this.firstAt = this.lastAt;
    this.wait(CLOSE_QUIET_MS);
  }

  /** Closes every socket waiting now (a node shutting down: 1000, not 1001). */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const [connection, code, reason] of this.pending.splice(0)) {
      connection.closeWith(code, reason);
    }
  }

  private wait(ms: number): void {
    this.timer = setTimeout(() => this.closeWhenQuiet(), ms);
  }

  private closeWhenQuiet(): void {
    const now = performance.now();
    const quietFor = now - this.lastAt;
    if (quietFor < CLOSE_QUIET_MS && now - this.firstAt < CLOSE_MAX_WAIT_MS) {
      this.wait(CLOSE_QUIET_MS - quietFor);
      return;
    }
    this.flush();
  }
}
