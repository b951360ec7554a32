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
import type { HistoryEntry, TransactionState } from '../store/index.js';
import { CloseCode, isTerminalStatus } from '../wire/index.js';
import { errorFrame, historyMessage, toMessage, type Freshness } from './messages.js';

export { errorFrame, toMessage, type Freshness } from './messages.js';

/** The only thing the hub knows about a connection: transport-agnostic on purpose. */
export interface HubSocket {
  send(data: string): void;
  close(code: number, reason: string): void;
  readonly bufferedAmount: number;
}

export interface HubDeps {
  loadState(transactionId: string): Promise<TransactionState | undefined>;
  /** Many at once, for the resync after a bus outage; defaults to loadState one by one. */
  loadStates?(transactionIds: readonly string[]): Promise<TransactionState[]>;
  /** Transitions after a version, for `?since=`; without it a resume sends the snapshot only. */
  loadHistory?(transactionId: string, afterVersion: number): Promise<HistoryEntry[]>;
  /** How far settlements are indexed (pending statuses carry it). */
  freshness?(): Freshness | undefined;
  onError?(error: unknown, transactionId: string): void;
  now?(): Date;
}

interface Watcher {
  socket: HubSocket;
  lastVersion: number;
  closed: boolean;
}

/** Resync reads at most this many transactions per query. */
const RESYNC_CHUNK = 500;

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
  watch(
    transactionId: string,
    socket: HubSocket,
    since?: number,
  ): { unwatch: () => void; ready: Promise<void> } {
    // A resuming client already has everything up to `since`: the gate starts there.
    const watcher: Watcher = { socket, lastVersion: since ?? 0, closed: false };
    let set = this.watchers.get(transactionId);
    if (!set) {
      set = new Set();
      this.watchers.set(transactionId, set);
    }
    set.add(watcher);
    this.socketCount++;
    const unwatch = () => this.forget(transactionId, watcher);
    const first =
      since === undefined
        ? this.sendSnapshot(transactionId, watcher)
        : this.sendHistory(transactionId, watcher, since);
    const ready = first.catch((error: unknown) => {
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
    const pushedAt = this.now();
    for (const state of states) {
      const set = this.watchers.get(state.transactionId);
      if (!set) continue;
      // Serialised once per transition, however many sockets watch it.
      const frame = JSON.stringify(toMessage(state, 'live', pushedAt, this.deps.freshness?.()));
      for (const watcher of set) this.offer(state.transactionId, watcher, state, frame);
    }
  }

  /**
   * Re-reads every watched transaction and offers its state: after a bus outage, a transition
   * whose notification was lost still reaches its sockets (the gate drops what they have).
   */
  async resync(): Promise<void> {
    const ids = [...this.watchers.keys()];
    for (let start = 0; start < ids.length; start += RESYNC_CHUNK) {
      const chunk = ids.slice(start, start + RESYNC_CHUNK);
      const states = this.deps.loadStates
        ? await this.deps.loadStates(chunk)
        : (await Promise.all(chunk.map((id) => this.deps.loadState(id)))).filter(
            (state): state is TransactionState => state !== undefined,
          );
      this.deliver(states);
    }
  }

  /** Closes every socket (shutdown). */
  closeAll(code: number, reason: string): void {
    for (const [transactionId, set] of this.watchers) {
      for (const watcher of set) this.finish(transactionId, watcher, code, reason);
    }
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  private async sendSnapshot(transactionId: string, watcher: Watcher): Promise<void> {
    const state = await this.deps.loadState(transactionId);
    if (watcher.closed) return;
    if (!state) return this.notFound(transactionId, watcher);
    const message = toMessage(state, 'snapshot', this.now(), this.deps.freshness?.());
    this.offer(transactionId, watcher, state, JSON.stringify(message));
  }

  /** Resume: every transition after `since`, in order, then whatever arrives live. */
  private async sendHistory(transactionId: string, watcher: Watcher, since: number): Promise<void> {
    if (!this.deps.loadHistory) return this.sendSnapshot(transactionId, watcher);
    const [state, history] = await Promise.all([
      this.deps.loadState(transactionId),
      this.deps.loadHistory(transactionId, since),
    ]);
    if (watcher.closed) return;
    if (!state) return this.notFound(transactionId, watcher);
    if (since > state.version) {
      const message = `since=${since} is ahead of this transaction (version ${state.version})`;
      this.finish(transactionId, watcher, CloseCode.BadRequest, 'Invalid since', message);
      return;
    }
    const pushedAt = this.now();
    const freshness = this.deps.freshness?.();
    for (const entry of history) {
      const frame = JSON.stringify(historyMessage(entry, pushedAt, freshness));
      this.offer(transactionId, watcher, entry, frame);
    }
    // Already terminal and fully known to the client: nothing more will ever come.
    if (isTerminalStatus(state.status) && watcher.lastVersion >= state.version) {
      this.finish(transactionId, watcher, CloseCode.Normal, `Transaction ${state.status}`);
    }
  }

  private notFound(transactionId: string, watcher: Watcher): void {
    const message = 'Transaction not found';
    this.finish(transactionId, watcher, CloseCode.NotFound, message, message);
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
