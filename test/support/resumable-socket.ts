import WebSocket from 'ws';
import { withTimeout } from './ws-client.js';

/** One WebSocket connection of a {@link ResumableSocket}. */
export interface Connection {
  readonly url: string;
  /** The `since` it was opened with; undefined for a plain connect. */
  readonly since: number | undefined;
  readonly messages: Record<string, unknown>[];
  /** How it ended, when the server or the network ended it. */
  close: { code: number; reason: string } | undefined;
  /** The test dropped it to reconnect: nothing it received afterwards counts. */
  abandoned: boolean;
}

/**
 * What a client that resumes does: one logical subscription to a transaction, made of one
 * connection after another, each opened with `?since=<last version received>`. The messages of
 * all its connections, in order, are the sequence the client saw.
 */
export class ResumableSocket {
  readonly connections: Connection[] = [];
  private readonly sockets: WebSocket[] = [];
  private waiters: (() => void)[] = [];

  constructor(
    readonly transactionId: string,
    /** Names the socket in failure messages. */
    readonly label: string,
  ) {}

  /** Opens a connection to `wsBase` (`ws://host:port`), dropping the current one if open. */
  connect(wsBase: string, since?: number): Connection {
    this.abandon();
    const query = since === undefined ? '' : `?since=${since}`;
    const url = `${wsBase}/ws/transactions/${this.transactionId}${query}`;
    const connection: Connection = { url, since, messages: [], close: undefined, abandoned: false };
    const ws = new WebSocket(url);
    ws.on('message', (data) => {
      if (connection.abandoned) return;
      connection.messages.push(JSON.parse(data.toString()) as Record<string, unknown>);
      this.wake();
    });
    ws.on('close', (code, reason) => {
      if (!connection.abandoned) connection.close = { code, reason: reason.toString() };
      this.wake();
    });
    // A refused or reset connection also emits 'close' (1006): that is what the test looks at.
    ws.on('error', () => {});
    this.connections.push(connection);
    this.sockets.push(ws);
    return connection;
  }

  /** Reconnects to `wsBase` from the last version received (a plain connect if there is none). */
  resume(wsBase: string): Connection {
    return this.connect(wsBase, this.lastVersion);
  }

  /** Every message of every connection, in the order received. */
  get messages(): Record<string, unknown>[] {
    return this.connections.flatMap((connection) => connection.messages);
  }

  get lastVersion(): number | undefined {
    const last = this.messages.at(-1);
    return typeof last?.version === 'number' ? last.version : undefined;
  }

  get current(): Connection | undefined {
    return this.connections.at(-1);
  }

  /** The current connection is open (or opening) and counts. */
  get live(): boolean {
    const current = this.current;
    return current !== undefined && current.close === undefined && !current.abandoned;
  }

  /** Resolves once `condition` holds; re-checked on every message and close. */
  async until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new Error(`${this.label}: timed out after ${timeoutMs} ms waiting for ${what}`);
      }
      await withTimeout(
        new Promise<void>((resolve) => this.waiters.push(resolve)),
        remaining,
        what,
      ).catch(() => undefined);
    }
  }

  /** Waits until the current connection has received at least one message. */
  firstMessage(timeoutMs?: number): Promise<void> {
    const current = this.current;
    return this.until(() => (current?.messages.length ?? 0) > 0, 'a first message', timeoutMs);
  }

  /** Waits until the server (or the network) closed the current connection. */
  ended(timeoutMs?: number): Promise<void> {
    const current = this.current;
    return this.until(() => current?.close !== undefined, 'the connection to close', timeoutMs);
  }

  /** Goes offline: drops the current connection; `resume` comes back from the last version. */
  disconnect(): void {
    this.abandon();
  }

  /** Drops every connection at once (cleanup). */
  terminate(): void {
    this.abandon();
    for (const ws of this.sockets) ws.terminate();
  }

  /** Stops counting the current connection and drops it without a closing handshake. */
  private abandon(): void {
    const current = this.current;
    if (!current || current.close !== undefined || current.abandoned) return;
    current.abandoned = true;
    this.sockets.at(-1)?.terminate();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }
}
