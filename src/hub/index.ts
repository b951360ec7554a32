/**
 * The hub: per node, which sockets watch which transaction, and the one gate every outgoing
 * status passes through.
 *
 *   connect ─► watch ─► registered, LOADING ─► snapshot (or history after `since`) ─► flush
 *                              ▲   (live states are buffered meanwhile)                │
 *   bus ─► deliver ────────────┘                                                       ▼
 *        └──────────────► offer(state) ─► version ≤ last sent? ─ yes ─► drop (stale/duplicate)
 *                                            │ no
 *                                            ▼
 *                              version > last + 1 (a notification was lost)?
 *                                 │ yes: catch up from the status_events log, LOADING again
 *                                 │ no
 *                                 ▼
 *                               send ─► terminal? ─ yes ─► close 1000, forget the socket
 *
 * Registering before the first read means a transition that commits during it is buffered and
 * sent after it; the gate drops whichever copy comes second. So each socket receives a
 * gap-free, ordered, duplicate-free run of versions: the snapshot (or everything after `since`)
 * and then every later transition.
 */
import type { HistoryEntry, TransactionState } from '../store/index.js';
import { CloseCode, isTerminalStatus } from '../wire/index.js';
import {
  errorFrame,
  historyMessage,
  renderFreshness,
  toMessage,
  type Freshness,
  type RenderedFreshness,
} from './messages.js';

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
  /** Transitions after a version (resume, catch-up); without it gaps cannot be filled. */
  loadHistory?(transactionId: string, afterVersion: number): Promise<HistoryEntry[]>;
  /** How far settlements are indexed (pending statuses carry it). */
  freshness?(): Freshness | undefined;
  onError?(error: unknown, transactionId: string): void;
  /**
   * A live transition reached at least one socket (once per transition, not per socket), at
   * `pushedAtMs`: the push latency metric. Snapshots, resumes and catch-ups are not reported.
   */
  onPushed?(state: TransactionState, pushedAtMs: number): void;
  now?(): Date;
}

interface Watcher {
  transactionId: string;
  socket: HubSocket;
  lastVersion: number;
  closed: boolean;
  /** Set while a read from the store is in flight: live states wait here, in arrival order. */
  buffer: TransactionState[] | undefined;
}

/** Resync reads at most this many transactions per query. */
const RESYNC_CHUNK = 500;

export class Hub {
  private readonly watchers = new Map<string, Set<Watcher>>();
  private socketCount = 0;
  // Connects and fan-outs render these often: keep the last rendering while its input holds.
  private rendered: { from: Freshness; wire: RenderedFreshness } | undefined;
  private clock = { ms: 0, iso: '' };

  constructor(private readonly deps: HubDeps) {}

  get openSockets(): number {
    return this.socketCount;
  }

  get watchedTransactions(): number {
    return this.watchers.size;
  }

  /** Sockets still reading their first state or catching up (`loading`), and the others. */
  socketsByState(): { loading: number; live: number } {
    let loading = 0;
    for (const set of this.watchers.values()) {
      for (const watcher of set) if (watcher.buffer) loading++;
    }
    return { loading, live: this.socketCount - loading };
  }

  /**
   * Starts watching; `ready` resolves once the first read has been sent. `unwatch` must be
   * called when the socket closes, whoever closed it.
   */
  watch(
    transactionId: string,
    socket: HubSocket,
    since?: number,
  ): { unwatch: () => void; ready: Promise<void> } {
    // A resuming client already has everything up to `since`: the gate starts there.
    const watcher: Watcher = {
      transactionId,
      socket,
      lastVersion: since ?? 0,
      closed: false,
      buffer: [],
    };
    let set = this.watchers.get(transactionId);
    if (!set) {
      set = new Set();
      this.watchers.set(transactionId, set);
    }
    set.add(watcher);
    this.socketCount++;
    const first =
      since === undefined ? this.sendSnapshot(watcher) : this.sendHistory(watcher, since);
    return { unwatch: () => this.forget(watcher), ready: this.guard(watcher, first) };
  }

  /** Called with every committed transition, from any producer on any node. */
  deliver(states: readonly TransactionState[]): void {
    const pushedAt = this.now();
    const freshness = this.freshness();
    for (const state of states) {
      const set = this.watchers.get(state.transactionId);
      if (!set) continue;
      // Serialised once per transition, however many sockets watch it.
      const frame = JSON.stringify(toMessage(state, 'live', pushedAt, freshness));
      let pushed = false;
      for (const watcher of set) pushed = this.offer(watcher, state, frame) || pushed;
      if (pushed) this.deps.onPushed?.(state, this.clock.ms);
    }
  }

  /**
   * Re-reads every watched transaction and offers its state: after a bus outage, a transition
   * whose notification was lost still reaches its sockets (the gate drops what they have, and
   * a socket that missed a version catches up from the log).
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
    for (const set of this.watchers.values()) {
      for (const watcher of set) this.finish(watcher, code, reason);
    }
  }

  /** ISO 8601 of the current millisecond, rendered once per millisecond. */
  private now(): string {
    const ms = this.deps.now?.().getTime() ?? Date.now();
    if (ms !== this.clock.ms) this.clock = { ms, iso: new Date(ms).toISOString() };
    return this.clock.iso;
  }

  private freshness(): RenderedFreshness | undefined {
    const current = this.deps.freshness?.();
    if (!current) return undefined;
    const cached = this.rendered;
    if (
      cached &&
      cached.from.checkpoint === current.checkpoint &&
      cached.from.timestamp?.getTime() === current.timestamp?.getTime()
    ) {
      return cached.wire;
    }
    this.rendered = { from: current, wire: renderFreshness(current) };
    return this.rendered.wire;
  }

  private guard(watcher: Watcher, work: Promise<void>): Promise<void> {
    return work.catch((error: unknown) => {
      this.deps.onError?.(error, watcher.transactionId);
      this.finish(watcher, CloseCode.InternalError, 'Internal error', 'Internal error');
    });
  }

  private async sendSnapshot(watcher: Watcher): Promise<void> {
    const state = await this.deps.loadState(watcher.transactionId);
    if (watcher.closed) return;
    if (!state) return this.notFound(watcher);
    const message = toMessage(state, 'snapshot', this.now(), this.freshness());
    // The snapshot sets the baseline, whatever version it has.
    this.send(watcher, state, JSON.stringify(message));
    this.flush(watcher);
  }

  /** Resume: every transition after `since`, in order, then whatever arrives live. */
  private async sendHistory(watcher: Watcher, since: number): Promise<void> {
    if (!this.deps.loadHistory) return this.sendSnapshot(watcher);
    const [state, history] = await Promise.all([
      this.deps.loadState(watcher.transactionId),
      this.deps.loadHistory(watcher.transactionId, since),
    ]);
    if (watcher.closed) return;
    if (!state) return this.notFound(watcher);
    if (since > state.version) {
      const message = `since=${since} is ahead of this transaction (version ${state.version})`;
      this.finish(watcher, CloseCode.BadRequest, 'Invalid since', message);
      return;
    }
    this.replay(watcher, history);
    // Already terminal and fully known to the client: nothing more will ever come.
    if (!watcher.closed && isTerminalStatus(state.status) && watcher.lastVersion >= state.version) {
      this.finish(watcher, CloseCode.Normal, `Transaction ${state.status}`);
      return;
    }
    this.flush(watcher);
  }

  /** A notification went missing: fetch what the socket lacks from the log, then go on. */
  private async catchUp(watcher: Watcher): Promise<void> {
    const history = await this.deps.loadHistory?.(watcher.transactionId, watcher.lastVersion);
    if (watcher.closed) return;
    this.replay(watcher, history ?? []);
    this.flush(watcher);
  }

  private replay(watcher: Watcher, history: HistoryEntry[]): void {
    const pushedAt = this.now();
    const freshness = this.freshness();
    for (const entry of history) {
      if (watcher.closed) return;
      if (entry.version !== watcher.lastVersion + 1) continue;
      this.send(watcher, entry, JSON.stringify(historyMessage(entry, pushedAt, freshness)));
    }
  }

  /** Ends a load: what arrived meanwhile goes through the gate, oldest version first. */
  private flush(watcher: Watcher): void {
    const buffered = watcher.buffer;
    watcher.buffer = undefined;
    if (!buffered || buffered.length === 0) return;
    buffered.sort((a, b) => a.version - b.version);
    const pushedAt = this.now();
    const freshness = this.freshness();
    for (const state of buffered) {
      const frame = JSON.stringify(toMessage(state, 'live', pushedAt, freshness));
      this.offer(watcher, state, frame);
    }
  }

  /** True when the frame was sent now (not dropped, buffered or left to a catch-up). */
  private offer(watcher: Watcher, state: TransactionState, frame: string): boolean {
    if (watcher.closed || state.version <= watcher.lastVersion) return false;
    if (watcher.buffer) {
      watcher.buffer.push(state);
      return false;
    }
    if (state.version > watcher.lastVersion + 1 && this.deps.loadHistory) {
      watcher.buffer = [state];
      void this.guard(watcher, this.catchUp(watcher));
      return false;
    }
    this.send(watcher, state, frame);
    return true;
  }

  private send(watcher: Watcher, state: TransactionState, frame: string): void {
    watcher.lastVersion = state.version;
    watcher.socket.send(frame);
    if (isTerminalStatus(state.status)) {
      this.finish(watcher, CloseCode.Normal, `Transaction ${state.status}`);
    }
  }

  private notFound(watcher: Watcher): void {
    const message = 'Transaction not found';
    this.finish(watcher, CloseCode.NotFound, message, message);
  }

  /** Optionally sends an error message, closes, and forgets the socket. */
  private finish(watcher: Watcher, code: number, reason: string, errorMessage?: string): void {
    if (watcher.closed) return;
    if (errorMessage) watcher.socket.send(errorFrame(errorMessage));
    this.forget(watcher);
    watcher.socket.close(code, reason);
  }

  private forget(watcher: Watcher): void {
    if (watcher.closed) return;
    watcher.closed = true;
    watcher.buffer = undefined;
    this.socketCount--;
    const set = this.watchers.get(watcher.transactionId);
    if (!set) return;
    set.delete(watcher);
    if (set.size === 0) this.watchers.delete(watcher.transactionId);
  }
}
