import type { TransactionState } from '../store/index.js';
import type { Frame } from './messages.js';

/** The only thing the hub knows about a connection: transport-agnostic on purpose. */
export interface HubSocket {
  sendFrame(frame: Frame): void;
  /** The last frame, then the close (a fan-out sends every last frame before any close). */
  sendFinalFrame(frame: Frame, code: number, reason: string): void;
  closeWith(code: number, reason: string): void;
}

/** One watched transaction on this node. */
export interface Topic {
  readonly id: string;
  readonly watches: Set<Watch>;
  /**
   * The newest committed state this node has seen (read from the store or delivered), kept
   * while sockets watch: a later connect is answered from it without a read. Undefined until
   * the first read returns or a transition arrives.
   */
  state: TransactionState | undefined;
  /** Watches waiting for the topic's first read (undefined when none is in flight). */
  waiting: Watch[] | undefined;
}

/**
 * One socket watching one transaction: what `Hub.watch` returns. Kept small and closure-free
 * (one per open socket): the hub's per-socket state and the handle the transport keeps.
 */
export class Watch {
  /** The highest version this socket has been sent (or had on resume): the gate. */
  lastVersion: number;
  closed = false;
  /** Set while a read from the store is in flight: live states wait here, in arrival order. */
  buffer: TransactionState[] | undefined = [];
  private onIdle: (() => void) | undefined;

  constructor(
    readonly topic: Topic,
    readonly socket: HubSocket,
    since: number | undefined,
    private readonly forget: (watch: Watch) => void,
  ) {
    // A resuming client already has everything up to `since`: the gate starts there.
    this.lastVersion = since ?? 0;
  }

  get transactionId(): string {
    return this.topic.id;
  }

  /** Stops watching; called when the socket closes, whoever closed it. */
  unwatch(): void {
    this.forget(this);
  }

  /**
   * Resolves once no read is in flight for this socket: its first state (or history) has been
   * sent, or it was closed. A promise only exists for whoever asks (tests, benchmarks).
   */
  get ready(): Promise<void> {
    if (this.closed || this.buffer === undefined) return Promise.resolve();
    return new Promise((resolve) => {
      const previous = this.onIdle;
      this.onIdle = () => {
        previous?.();
        resolve();
      };
    });
  }

  /** The read is over (or the socket closed): wake whoever waits on `ready`. */
  idle(): void {
    const onIdle = this.onIdle;
    this.onIdle = undefined;
    onIdle?.();
  }
}
