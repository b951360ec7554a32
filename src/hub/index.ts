/**
 * The hub: per node, which sockets watch which transaction, and the one gate every outgoing
 * status passes through.
 *
 *   connect ──► watch(txId) ──► registered ──► snapshot read ──► offer(state, 'status')
 *                                   ▲                               │
 *   bus ──► deliver(states) ────────┴──────► offer(state, live) ────┤
 *                                                                   ▼
 *                         version > lastSent? ── no ──► drop (stale or duplicate)
 *                                │ yes
 *                                ▼
 *                              send ──► terminal? ── yes ──► close 1000, forget the socket
 *
 * Registering before the snapshot is read means a transition that commits during the read is
 * delivered live; the version gate then drops whichever of the two copies arrives second, so a
 * client never sees a status older than one it has seen, nor the same transition twice.
 */
import type { TransactionState } from '../store/index.js';
import {
  CloseCode,
  isTerminalStatus,
  type ErrorMessage,
  type SettlementMessage,
  type StatusMessage,
} from '../wire/index.js';

/** The only thing the hub knows about a connection: transport-agnostic on purpose. */
export interface HubSocket {
  send(data: string): void;
  close(code: number, reason: string): void;
  readonly bufferedAmount: number;
}

export interface HubDeps {
  loadState(transactionId: string): Promise<TransactionState | undefined>;
  onError?(error: unknown, transactionId: string): void;
}

interface Watcher {
  socket: HubSocket;
  lastVersion: number;
  closed: boolean;
}

export function toMessage(
  state: TransactionState,
  live: boolean,
): StatusMessage | SettlementMessage {
  if (live && state.status === 'settled' && state.suiTxDigest) {
    return {
      type: 'settlement',
      transactionId: state.transactionId,
      status: 'settled',
      suiTxDigest: state.suiTxDigest,
      version: state.version,
      late: state.late,
    };
  }
  return {
    type: 'status',
    transactionId: state.transactionId,
    status: state.status,
    suiTxDigest: state.suiTxDigest,
    version: state.version,
    ...(state.status === 'settled' ? { late: state.late } : {}),
  };
}

export function errorFrame(message: string): string {
  const frame: ErrorMessage = { type: 'error', message };
  return JSON.stringify(frame);
}

export class Hub {
  private readonly watchers = new Map<string, Set<Watcher>>();
  private socketCount = 0;

  constructor(private readonly deps: HubDeps) {}

  get openSockets(): number {
    return this.socketCount;
  }

  get watchedTransactions(): number {
    return this.watchers.size;
  }

  /**
   * Starts watching; resolves once the snapshot has been offered. The returned function must be
   * called when the socket closes, whoever closed it.
   */
  watch(transactionId: string, socket: HubSocket): { unwatch: () => void; ready: Promise<void> } {
    const watcher: Watcher = { socket, lastVersion: 0, closed: false };
    let set = this.watchers.get(transactionId);
    if (!set) {
      set = new Set();
      this.watchers.set(transactionId, set);
    }
    set.add(watcher);
    this.socketCount++;
    const unwatch = () => this.forget(transactionId, watcher);
    const ready = this.sendSnapshot(transactionId, watcher).catch((error: unknown) => {
      this.deps.onError?.(error, transactionId);
      this.finish(
        transactionId,
        watcher,
        CloseCode.InternalError,
        'Internal error',
        'Internal error',
      );
    });
    return { unwatch, ready };
  }

  /** Called with every committed transition, from any producer on any node. */
  deliver(states: readonly TransactionState[]): void {
    for (const state of states) {
      const set = this.watchers.get(state.transactionId);
      if (!set) continue;
      // Serialised once per transition, however many sockets watch it.
      const frame = JSON.stringify(toMessage(state, true));
      for (const watcher of set) this.offer(state.transactionId, watcher, state, frame);
    }
  }

  /** Closes every socket (shutdown). */
  closeAll(code: number, reason: string): void {
    for (const [transactionId, set] of this.watchers) {
      for (const watcher of set) this.finish(transactionId, watcher, code, reason);
    }
  }

  private async sendSnapshot(transactionId: string, watcher: Watcher): Promise<void> {
    const state = await this.deps.loadState(transactionId);
    if (watcher.closed) return;
    if (!state) {
      this.finish(
        transactionId,
        watcher,
        CloseCode.NotFound,
        'Transaction not found',
        'Transaction not found',
      );
      return;
    }
    this.offer(transactionId, watcher, state, JSON.stringify(toMessage(state, false)));
  }

  private offer(transactionId: string, watcher: Watcher, state: TransactionState, frame: string) {
    if (watcher.closed || state.version <= watcher.lastVersion) return;
    watcher.lastVersion = state.version;
    watcher.socket.send(frame);
    if (isTerminalStatus(state.status)) {
      this.finish(transactionId, watcher, CloseCode.Normal, `Transaction ${state.status}`);
    }
  }

  /** Optionally sends an error message, closes, and forgets the socket. */
  private finish(
    transactionId: string,
    watcher: Watcher,
    code: number,
    reason: string,
    errorMessage?: string,
  ): void {
    if (watcher.closed) return;
    if (errorMessage) watcher.socket.send(errorFrame(errorMessage));
    this.forget(transactionId, watcher);
    watcher.socket.close(code, reason);
  }

  private forget(transactionId: string, watcher: Watcher): void {
    if (watcher.closed) return;
    watcher.closed = true;
    this.socketCount--;
    const set = this.watchers.get(transactionId);
    if (!set) return;
    set.delete(watcher);
    if (set.size === 0) this.watchers.delete(transactionId);
  }
}
