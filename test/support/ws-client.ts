import WebSocket from 'ws';

export interface Closed {
  code: number;
  reason: string;
}

/**
 * A real WebSocket client that records everything: tests await the next message or the close
 * with a timeout instead of sleeping.
 */
export class TestSocket {
  readonly messages: unknown[] = [];
  readonly raw: string[] = [];
  /** Date.now() at the arrival of each message, index for index. */
  readonly receivedAt: number[] = [];
  readonly closed: Promise<Closed>;
  readonly opened: Promise<void>;
  private waiters: (() => void)[] = [];
  private cursor = 0;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const text = data.toString();
      this.raw.push(text);
      this.receivedAt.push(Date.now());
      this.messages.push(JSON.parse(text));
      this.wake();
    });
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        this.wake();
      });
    });
    this.opened = new Promise((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_request, response) =>
        reject(new Error(`upgrade refused with HTTP ${response.statusCode}`)),
      );
    });
    ws.on('error', () => {});
  }

  static connect(url: string): TestSocket {
    return new TestSocket(new WebSocket(url));
  }

  /** The next message not yet returned by this method. */
  async next(timeoutMs = 10_000): Promise<Record<string, unknown>> {
    await this.until(() => this.messages.length > this.cursor, timeoutMs, 'a message');
    return this.messages[this.cursor++] as Record<string, unknown>;
  }

  async closeEvent(timeoutMs = 10_000): Promise<Closed> {
    return withTimeout(this.closed, timeoutMs, 'the socket to close');
  }

  close(): void {
    this.ws.close();
  }

  /** Waits for the close and returns it with every message received before it. */
  async finished(
    timeoutMs = 10_000,
  ): Promise<{ messages: Record<string, unknown>[]; close: Closed }> {
    const close = await this.closeEvent(timeoutMs);
    return { messages: this.messages as Record<string, unknown>[], close };
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }

  private async until(ready: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!ready()) {
      if (this.ws.readyState === WebSocket.CLOSED && !ready()) {
        throw new Error(`socket closed while waiting for ${what}`);
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await withTimeout(
        new Promise<void>((resolve) => this.waiters.push(resolve)),
        remaining,
        what,
      ).catch(() => undefined);
    }
  }
}

export function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)),
      timeoutMs,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Attempts a WebSocket upgrade and reports the HTTP status the server answered with: 101 when it
 * upgraded (the socket is closed again at once), otherwise the refusal's status code.
 */
export function upgradeStatus(url: string, timeoutMs = 10_000): Promise<number> {
  const ws = new WebSocket(url);
  ws.on('error', () => {});
  const answered = new Promise<number>((resolve) => {
    ws.once('upgrade', () => {
      resolve(101);
      ws.once('open', () => ws.close());
    });
    ws.once('unexpected-response', (request, response) => {
      resolve(response.statusCode ?? 0);
      request.destroy();
    });
  });
  return withTimeout(answered, timeoutMs, `the server to answer the upgrade to ${url}`);
}

/** Fields issue 4 added to every message: checked for shape here, then left out of comparisons. */
const ADDITIVE = [
  'pushedAt',
  'indexedCheckpoint',
  'indexedCheckpointTimestamp',
  'checkpointTimestamp',
];

/**
 * The message without its additive timing and freshness fields, after checking their shape: so
 * tests compare the seed's fields (plus `version` and `late`) exactly.
 */
export function seedView(message: Record<string, unknown>): Record<string, unknown> {
  const rest: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(message)) {
    if (!ADDITIVE.includes(key)) {
      rest[key] = value;
      continue;
    }
    const ok =
      key === 'indexedCheckpoint'
        ? typeof value === 'string' && /^\d+$/.test(value)
        : value === null || (typeof value === 'string' && !Number.isNaN(Date.parse(value)));
    if (!ok) throw new Error(`malformed ${key}: ${JSON.stringify(value)}`);
  }
  return rest;
}
