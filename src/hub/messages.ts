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

export function renderFreshness(freshness: Freshness): RenderedFreshness {
  return {
    indexedCheckpoint: freshness.checkpoint.toString(),
    indexedCheckpointTimestamp: freshness.timestamp?.toISOString() ?? null,
  };
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

export function errorFrame(message: string): string {
  const frame: ErrorMessage = { type: 'error', message };
  return JSON.stringify(frame);
}
