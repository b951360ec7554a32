import type { HistoryEntry, TransactionState } from '../store/index.js';
import type { ErrorMessage, SettlementMessage, StatusMessage } from '../wire/index.js';

/** How far settlements are indexed, as shown in pending statuses. */
export interface Freshness {
  checkpoint: bigint;
  timestamp: Date | null;
}

/**
 * The message for a state. A settlement the socket learns of as it happens (live, or replayed
 * from history on resume) is a `settlement` message; a snapshot on connect is a `status`.
 */
export function toMessage(
  state: TransactionState,
  kind: 'live' | 'snapshot',
  pushedAt: Date,
  freshness: Freshness | undefined,
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
      pushedAt: pushedAt.toISOString(),
    };
  }
  return {
    type: 'status',
    transactionId: state.transactionId,
    status: state.status,
    suiTxDigest: state.suiTxDigest,
    version: state.version,
    ...(state.status === 'settled' ? { late: state.late } : {}),
    ...(state.status === 'pending' && freshness
      ? {
          indexedCheckpoint: freshness.checkpoint.toString(),
          indexedCheckpointTimestamp: freshness.timestamp?.toISOString() ?? null,
        }
      : {}),
    pushedAt: pushedAt.toISOString(),
  };
}

/** A history row replays as the message a live socket got when it happened. */
export function historyMessage(
  entry: HistoryEntry,
  pushedAt: Date,
  freshness: Freshness | undefined,
): StatusMessage | SettlementMessage {
  return toMessage(entry, entry.event === 'created' ? 'snapshot' : 'live', pushedAt, freshness);
}

export function errorFrame(message: string): string {
  const frame: ErrorMessage = { type: 'error', message };
  return JSON.stringify(frame);
}
