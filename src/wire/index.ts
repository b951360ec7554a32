/**
 * The wire contract: every message the WebSocket sends, every close code and the REST status
 * shape. This module has no dependencies so that the server and the client SDK import the very
 * same definitions. docs/PROTOCOL.md is the prose version of this file.
 */

export const TRANSACTION_STATUSES = ['pending', 'settled', 'expired', 'cancelled'] as const;
export type TransactionStatus = (typeof TRANSACTION_STATUSES)[number];

export function isTerminalStatus(status: TransactionStatus): boolean {
  return status !== 'pending';
}

/** Sent on connect (the current state) and for expiry and cancellation. */
export interface StatusMessage {
  type: 'status';
  transactionId: string;
  status: TransactionStatus;
  suiTxDigest: string | null;
  /** Per-transaction transition counter; a socket never sees it go down. Additive field. */
  version: number;
  /** Only when settled: paid after it had expired or been cancelled. Additive field. */
  late?: boolean;
  /**
   * Only when pending: the last checkpoint the indexer has fully processed and its timestamp,
   * so that "not paid" can be told from "not indexed yet". Additive (u64 as a string).
   */
  indexedCheckpoint?: string;
  indexedCheckpointTimestamp?: string | null;
  /** When the server sent this message (ISO 8601). Additive. */
  pushedAt: string;
}

/** Sent when the indexer has verified and applied an on-chain settlement. */
export interface SettlementMessage {
  type: 'settlement';
  transactionId: string;
  status: 'settled';
  suiTxDigest: string;
  version: number;
  /** Paid after it had expired or been cancelled: the merchant may owe a refund. Additive. */
  late: boolean;
  /** Timestamp of the checkpoint that included the settlement (ISO 8601). Additive. */
  checkpointTimestamp: string | null;
  /** When the server pushed this message (ISO 8601): with the above, the push latency. */
  pushedAt: string;
}

export interface ErrorMessage {
  type: 'error';
  message: string;
}

export type ServerMessage = StatusMessage | SettlementMessage | ErrorMessage;

/**
 * WebSocket close codes. Standard codes where they fit, and 4000 + HTTP status for application
 * errors, so that a close code reads like the REST error it mirrors.
 */
export const CloseCode = {
  /** A terminal status was sent; nothing more will happen to this transaction. */
  Normal: 1000,
  /** The server is shutting down; reconnect (to another node). */
  GoingAway: 1001,
  /** Client broke the read-only rule (e.g. kept sending frames). */
  PolicyViolation: 1008,
  /** A client frame exceeded the tiny maximum size. */
  MessageTooBig: 1009,
  /** Unexpected server error; reconnect with backoff. */
  InternalError: 1011,
  /** Server overloaded or the socket could not keep up; reconnect later. */
  TryAgainLater: 1013,
  /** The transaction id is not a UUID. */
  BadRequest: 4400,
  /** No such transaction. */
  NotFound: 4404,
  /** A connection limit was hit. */
  TooManyRequests: 4429,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** `GET /api/identipay/v1/transactions/:txId/status` response body. */
export interface TransactionStatusResponse {
  transactionId: string;
  status: TransactionStatus;
  suiTxDigest: string | null;
  /** When the settlement's checkpoint was made (ISO 8601), or null while not settled. */
  settledAt: string | null;
  version: number;
  /** Settled after it had expired or been cancelled. */
  late: boolean;
  /** Only when pending: how far settlements are indexed (see StatusMessage). */
  indexedCheckpoint?: string;
  indexedCheckpointTimestamp?: string | null;
  /** Only with `?since=<version>`: the transitions after that version, oldest first. */
  transitions?: TransitionRecord[];
}

export interface TransitionRecord {
  version: number;
  status: TransactionStatus;
  event: 'created' | 'settled' | 'expired' | 'cancelled';
  suiTxDigest: string | null;
  late: boolean;
  /** When the transition was committed. */
  at: string;
}

/** The JSON body of every REST error. */
export interface ErrorBody {
  error: string;
  message: string;
}

export const TRANSACTION_ID_PATTERN =
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isTransactionId(value: string): boolean {
  return TRANSACTION_ID_PATTERN.test(value);
}
