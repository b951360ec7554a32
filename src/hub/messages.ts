import type { HistoryEntry, TransactionState } from '../store/index.js';
import type { ErrorMessage, SettlementMessage, StatusMessage } from '../wire/index.js';

/** How far settlements are indexed, as shown in pending statuses. */
export interface Freshness {
  checkpoint: bigint;
  timestamp: Date | null;
}

/** Freshness as it appears on the wire, rendered once per change rather than per message. */
export interface RenderedFreshness {
  indexedCheckpoint: string;
  indexedCheckpointTimestamp: string | null;
}

function renderFreshness(freshness: Freshness): RenderedFreshness {
  return {
    indexedCheckpoint: freshness.checkpoint.toString(),
    indexedCheckpointTimestamp: freshness.timestamp?.toISOString() ?? null,
  };
}

/**
 * What every message of a moment shares, rendered once rather than per message: `pushedAt`
 * once per millisecond, the freshness fields once per indexed checkpoint.
 */
export class Stamps {
  private clock = { ms: 0, iso: '' };
  private rendered: { from: Freshness; wire: RenderedFreshness } | undefined;

  constructor(
    private readonly clockSource: (() => Date) | undefined,
    private readonly freshnessSource: (() => Freshness | undefined) | undefined,
  ) {}

  /** The millisecond `now()` last rendered. */
  get nowMs(): number {
    return this.clock.ms;
  }

  /** ISO 8601 of the current millisecond. */
  now(): string {
    const ms = this.clockSource?.().getTime() ?? Date.now();
    if (ms !== this.clock.ms) this.clock = { ms, iso: new Date(ms).toISOString() };
    return this.clock.iso;
  }

  freshness(): RenderedFreshness | undefined {
    const current = this.freshnessSource?.();
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
}

/**
 * The message for a state. A settlement the socket learns of as it happens (live, or replayed
 * from history on resume) is a `settlement` message; a snapshot on connect is a `status`.
 * `pushedAt` comes pre-rendered: on a fan-out it is the same for every message.
 */
export function toMessage(
  state: TransactionState,
  kind: 'live' | 'snapshot',
  pushedAt: string,
  freshness: RenderedFreshness | undefined,
): StatusMessage | SettlementMessage {
  if (kind === 'live' && state.status === 'settled' && state.suiTxDigest) {
    return {
      type: 'settlement',
      transactionId: state.transactionId,
      status: 'settled',
      suiTxDigest: state.suiTxDigest,
      version: state.version,
      late: state.late,
      checkpointTimestamp: state.settledAt?.toISOString() ?? null,
      pushedAt,
    };
  }
  return {
    type: 'status',
    transactionId: state.transactionId,
    status: state.status,
    suiTxDigest: state.suiTxDigest,
    version: state.version,
    ...(state.status === 'settled' ? { late: state.late } : {}),
    ...(state.status === 'pending' ? freshness : undefined),
    pushedAt,
  };
}

/** A history row replays as the message a live socket got when it happened. */
export function historyMessage(
  entry: HistoryEntry,
  pushedAt: string,
  freshness: RenderedFreshness | undefined,
): StatusMessage | SettlementMessage {
  return toMessage(entry, entry.event === 'created' ? 'snapshot' : 'live', pushedAt, freshness);
}

/**
 * One outgoing message, serialised once however many sockets it goes to. A transport may keep
 * its own encoding of it in `encoded` (the WebSocket frame bytes), also made once.
 */
export class Frame {
  encoded: Uint8Array | undefined = undefined;

  constructor(
    readonly type: 'status' | 'settlement' | 'error',
    readonly text: string,
  ) {}

  static of(message: StatusMessage | SettlementMessage | ErrorMessage): Frame {
    return new Frame(message.type, JSON.stringify(message));
  }
}

export function errorFrame(message: string): Frame {
  return Frame.of({ type: 'error', message });
}
