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
 *
 * Connects are the hot path. A transaction some socket here already watches is answered from
 * the newest state the hub has seen of it (read once, then kept current by `deliver`, which
 * every committed transition reaches): no read at all. First reads of others are batched (see
 * BatchedReads). A snapshot served from memory is as fresh as what the watching sockets have
 * been sent; a lost notification makes both stale alike, until the resync. So is a resume at the
 * version the hub holds, which is answered without reading the log.
 *
 * A node just started has read nothing, and that is when every client of the node it replaces
 * comes back at once. `preload` reads the open transactions ahead of them: they wait, unwatched,
 * in `preloaded`, kept current by `deliver` like watched ones, and are dropped at the next
 * resync (whose re-read covers only watched transactions, so nothing older than one resync is
 * ever served from there).
 */
import type { HistoryEntry, TransactionState } from '../store/index.js';
import { CloseCode, isTerminalStatus } from '../wire/index.js';
import { BatchedReads, statesReader, type BatchResult, type ReadStates } from './loads.js';
import {
  errorFrame,
  Frame,
  historyMessage,
  Stamps,
  toMessage,
  type Freshness,
} from './messages.js';
import { Watch, type HubSocket, type Topic } from './watch.js';

export { errorFrame, Frame, toMessage, type Freshness } from './messages.js';
export { Watch, type HubSocket } from './watch.js';

export interface HubDeps {
  loadState(transactionId: string): Promise<TransactionState | undefined>;
  /** Many at once (batched first reads, resync); defaults to loadState one by one. */
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
  /** First reads start at most this often, batched (see BatchedReads). */
  minReadIntervalMs?: number;
}

/** Resync reads at most this many transactions per query. */
const RESYNC_CHUNK = 500;

export class Hub {
  private readonly topics = new Map<string, Topic>();
  private readonly readStates: ReadStates;
  private readonly reads: BatchedReads<Topic>;
  private readonly forgetWatch = (watch: Watch) => this.forget(watch);
  private readonly stamps: Stamps;
  private socketCount = 0;
  /** Transactions nobody here watches yet, read ahead by `preload` (moved to a topic on watch). */
  private readonly preloaded = new Map<string, TransactionState>();
  /** A preload is reading: every delivered state is kept, it may be newer than its page. */
  private preloading = false;
  /** Bumped by each resync: a preload that started before one stops (its pages may be stale). */
  private resyncs = 0;

  constructor(private readonly deps: HubDeps) {
    this.readStates = statesReader((id) => deps.loadState(id), deps.loadStates?.bind(deps));
    this.reads = new BatchedReads<Topic>(
      this.readStates,
      (topics, result) => {
        for (const topic of topics) this.answerWaiting(topic, result);
      },
      deps.minReadIntervalMs,
    );
    this.stamps = new Stamps(deps.now, deps.freshness);
  }

  get openSockets(): number {
    return this.socketCount;
  }

  get watchedTransactions(): number {
    return this.topics.size;
  }

  /** Transactions read ahead by `preload` that no socket here has watched yet. */
  get preloadedTransactions(): number {
    return this.preloaded.size;
  }

  /**
   * Reads states ahead of the sockets that will watch them (the open transactions, at start),
   * page by page, until `pages` ends or a resync happens; resolves with how many are held.
   * A transaction some socket already watches keeps what its topic knows.
   */
  async preload(pages: AsyncIterable<readonly TransactionState[]>): Promise<number> {
    const resyncs = this.resyncs;
    this.preloading = true;
    try {
      for await (const page of pages) {
        if (this.resyncs !== resyncs) break;
        for (const state of page) {
          if (!this.topics.has(state.transactionId)) this.keepPreloaded(state);
        }
      }
    } finally {
      this.preloading = false;
    }
    return this.preloaded.size;
  }

  /** Sockets watching this transaction here (what its per-transaction limit counts). */
  watchersOf(transactionId: string): number {
    return this.topics.get(transactionId)?.watches.size ?? 0;
  }

  /** Sockets still reading their first state or catching up (`loading`), and the others. */
  socketsByState(): { loading: number; live: number } {
    let loading = 0;
    for (const topic of this.topics.values()) {
      for (const watch of topic.watches) if (watch.buffer) loading++;
    }
    return { loading, live: this.socketCount - loading };
  }

  /**
   * Starts watching; `ready` on the result resolves once the first state has been sent, and
   * `unwatch()` must be called when the socket closes, whoever closed it.
   *
   * A transaction some socket here already watches is answered from what the hub knows (read
   * once, then kept current by every delivered transition), without reading the store again.
   */
  watch(transactionId: string, socket: HubSocket, since?: number): Watch {
    let topic = this.topics.get(transactionId);
    if (!topic) {
      const state = this.preloaded.get(transactionId);
      if (state) this.preloaded.delete(transactionId);
      topic = { id: transactionId, watches: new Set(), state, waiting: undefined };
      this.topics.set(transactionId, topic);
    }
    const watch = new Watch(topic, socket, since, this.forgetWatch);
    topic.watches.add(watch);
    this.socketCount++;
    if (since !== undefined) {
      if (topic.state && since === topic.state.version) this.resumeUpToDate(watch, topic.state);
      else void this.guard(watch, this.sendHistory(watch, since));
    } else if (topic.state) {
      this.sendSnapshot(watch, topic.state);
    } else if (topic.waiting) {
      topic.waiting.push(watch);
    } else {
      topic.waiting = [watch];
      this.reads.load(topic);
    }
    return watch;
  }

  /** Called with every committed transition, from any producer on any node. */
  deliver(states: readonly TransactionState[]): void {
    const pushedAt = this.stamps.now();
    const freshness = this.stamps.freshness();
    for (const state of states) {
      const topic = this.topics.get(state.transactionId);
      if (!topic) {
        this.keepPreloaded(state);
        continue;
      }
      remember(topic, state);
      // Serialised once per transition, however many sockets watch it, and only if one of them
      // lacks it: a resync offers every watched transaction, nearly all of them already sent.
      let frame: Frame | undefined;
      let pushed = false;
      for (const watch of topic.watches) {
        if (watch.closed || state.version <= watch.lastVersion) continue;
        frame ??= Frame.of(toMessage(state, 'live', pushedAt, freshness));
        pushed = this.offer(watch, state, frame) || pushed;
      }
      if (pushed) this.deps.onPushed?.(state, this.stamps.nowMs);
    }
  }

  /**
   * Re-reads every watched transaction and offers its state: after a bus outage, a transition
   * whose notification was lost still reaches its sockets (the gate drops what they have, and
   * a socket that missed a version catches up from the log).
   */
  async resync(): Promise<void> {
    this.resyncs++;
    this.preloaded.clear();
    const ids = [...this.topics.keys()];
    for (let start = 0; start < ids.length; start += RESYNC_CHUNK) {
      this.deliver(await this.readStates(ids.slice(start, start + RESYNC_CHUNK)));
    }
  }

  /** Closes every socket (shutdown). */
  closeAll(code: number, reason: string): void {
    for (const topic of this.topics.values()) {
      for (const watch of topic.watches) this.finish(watch, code, reason);
    }
  }

  private guard(watch: Watch, work: Promise<void>): Promise<void> {
    return work.catch((error: unknown) => this.failed(watch, error));
  }

  private failed(watch: Watch, error: unknown): void {
    this.deps.onError?.(error, watch.transactionId);
    this.finish(watch, CloseCode.InternalError, 'Internal error', errorFrame('Internal error'));
  }

  /** The first read of a topic is back: answers every socket that waits for it. */
  private answerWaiting(topic: Topic, result: BatchResult): void {
    const state = result instanceof Error ? undefined : result.get(topic.id);
    const waiting = topic.waiting ?? [];
    topic.waiting = undefined;
    if (state) remember(topic, state);
    for (const watch of waiting) {
      if (watch.closed) continue;
      if (result instanceof Error) this.failed(watch, result);
      else if (!state) this.notFound(watch);
      else this.sendSnapshot(watch, state);
    }
  }

  /** The snapshot sets the baseline, whatever version it has; then what arrived meanwhile. */
  private sendSnapshot(watch: Watch, state: TransactionState): void {
    const message = toMessage(state, 'snapshot', this.stamps.now(), this.stamps.freshness());
    this.send(watch, state, Frame.of(message));
    this.flush(watch);
  }

  /**
   * A resume at the version the hub knows is current: nothing to send or read (a node's
   * returning clients, after a restart, resume this way). A terminal one is over.
   */
  private resumeUpToDate(watch: Watch, state: TransactionState): void {
    if (isTerminalStatus(state.status)) {
      this.finish(watch, CloseCode.Normal, `Transaction ${state.status}`);
      return;
    }
    this.flush(watch);
  }

  /** Resume: every transition after `since`, in order, then whatever arrives live. */
  private async sendHistory(watch: Watch, since: number): Promise<void> {
    const [state, history] = await Promise.all([
      this.deps.loadState(watch.transactionId),
      this.deps.loadHistory?.(watch.transactionId, since),
    ]);
    if (state) remember(watch.topic, state);
    if (watch.closed) return;
    if (!state) return this.notFound(watch);
    // Without the log a resume can only start over from the current state.
    if (!history) return this.sendSnapshot(watch, state);
    if (since > state.version) {
      const message = `since=${since} is ahead of this transaction (version ${state.version})`;
      this.finish(watch, CloseCode.BadRequest, 'Invalid since', errorFrame(message));
      return;
    }
    this.replay(watch, history);
    // Already terminal and fully known to the client: nothing more will ever come.
    if (!watch.closed && isTerminalStatus(state.status) && watch.lastVersion >= state.version) {
      this.finish(watch, CloseCode.Normal, `Transaction ${state.status}`);
      return;
    }
    this.flush(watch);
  }

  /** A notification went missing: fetch what the socket lacks from the log, then go on. */
  private async catchUp(watch: Watch): Promise<void> {
    const history = await this.deps.loadHistory?.(watch.transactionId, watch.lastVersion);
    if (watch.closed) return;
    this.replay(watch, history ?? []);
    this.flush(watch);
  }

  private replay(watch: Watch, history: HistoryEntry[]): void {
    const pushedAt = this.stamps.now();
    const freshness = this.stamps.freshness();
    for (const entry of history) {
      if (watch.closed) return;
      if (entry.version !== watch.lastVersion + 1) continue;
      this.send(watch, entry, Frame.of(historyMessage(entry, pushedAt, freshness)));
    }
  }

  /** Ends a load: what arrived meanwhile goes through the gate, oldest version first. */
  private flush(watch: Watch): void {
    const buffered = watch.buffer;
    watch.buffer = undefined;
    if (buffered && buffered.length > 0) {
      buffered.sort((a, b) => a.version - b.version);
      const pushedAt = this.stamps.now();
      const freshness = this.stamps.freshness();
      for (const state of buffered) {
        const frame = Frame.of(toMessage(state, 'live', pushedAt, freshness));
        this.offer(watch, state, frame);
      }
    }
    if (!watch.buffer) watch.idle();
  }

  /** True when the frame was sent now (not dropped, buffered or left to a catch-up). */
  private offer(watch: Watch, state: TransactionState, frame: Frame): boolean {
    if (watch.closed || state.version <= watch.lastVersion) return false;
    if (watch.buffer) {
      watch.buffer.push(state);
      return false;
    }
    if (state.version > watch.lastVersion + 1 && this.deps.loadHistory) {
      watch.buffer = [state];
      void this.guard(watch, this.catchUp(watch));
      return false;
    }
    this.send(watch, state, frame);
    return true;
  }

  private send(watch: Watch, state: TransactionState, frame: Frame): void {
    watch.lastVersion = state.version;
    if (isTerminalStatus(state.status)) {
      this.finish(watch, CloseCode.Normal, `Transaction ${state.status}`, frame);
    } else {
      watch.socket.sendFrame(frame);
    }
  }

  private notFound(watch: Watch): void {
    const message = 'Transaction not found';
    this.finish(watch, CloseCode.NotFound, message, errorFrame(message));
  }

  /** Closes and forgets the socket, after a last frame when there is one. */
  private finish(watch: Watch, code: number, reason: string, lastFrame?: Frame): void {
    if (watch.closed) return;
    this.forget(watch);
    if (lastFrame === undefined) watch.socket.closeWith(code, reason);
    else watch.socket.sendFinalFrame(lastFrame, code, reason);
  }

  /** While a preload reads, every state; after it, only newer states of what it read. */
  private keepPreloaded(state: TransactionState): void {
    const held = this.preloaded.get(state.transactionId);
    if (held ? state.version > held.version : this.preloading)
      this.preloaded.set(state.transactionId, state);
  }

  private forget(watch: Watch): void {
    if (watch.closed) return;
    watch.closed = true;
    watch.buffer = undefined;
    this.socketCount--;
    const topic = watch.topic;
    topic.watches.delete(watch);
    // The last socket gone: so is what the hub knew of the transaction (a new one reads again).
    if (topic.watches.size === 0 && this.topics.get(topic.id) === topic)
      this.topics.delete(topic.id);
    watch.idle();
  }
}

/** Keeps the newest state: a read can answer after a transition that was delivered meanwhile. */
function remember(topic: Topic, state: TransactionState): void {
  if (!topic.state || state.version > topic.state.version) topic.state = state;
}
