/**
 * What the indexer needs from Sui, independent of the protocol that brought it. Every source
 * (gRPC, GraphQL, the sandbox chain through GraphQL) normalises into these shapes in one place.
 *
 * Privacy: SettlementEvent has no buyer field on purpose. Sources drop the event's
 * `buyer_stealth_address` while parsing, so it can never reach storage, logs or messages.
 */

export interface CoinAmount {
  /** Normalised coin type: the address part as 0x + 64 lowercase hex (`normaliseCoinType`). */
  coinType: string;
  amount: bigint;
}

export interface SettlementEvent {
  txDigest: string;
  /** Position of this event among the transaction's events; (txDigest, eventIndex) is unique. */
  eventIndex: number;
  checkpoint: bigint;
  /** The checkpoint's timestamp: when the chain finalised it, not when we saw it. */
  checkpointTimestamp: Date;
  /** Lowercase hex of the event's `intent_hash: vector<u8>`. */
  intentHash: string;
  /** Normalised address of the event's `merchant` field. */
  merchant: string;
  /** The event's `amount: u64`. */
  amount: bigint;
  receiptId: string;
  warrantyId: string | null;
  /**
   * The transaction's positive net balance changes owned by the event's `merchant` address, per
   * coin type: what verification compares with the proposal. Changes of other owners (the buyer
   * among them) are dropped by the source.
   */
  credited: CoinAmount[];
}

/**
 * Everything the source knows up to and including `checkpoint`: after the indexer has applied a
 * batch it may save `checkpoint` as its cursor and never look below it again. A batch may carry
 * no events (the chain moved on; the cursor and lag still advance).
 */
export interface CheckpointBatch {
  checkpoint: bigint;
  checkpointTimestamp: Date;
  events: SettlementEvent[];
  /** The chain's latest checkpoint as the source last saw it, when it knows (lag metric). */
  tipCheckpoint?: bigint;
}

export interface ChainSource {
  /**
   * Identifies the chain behind the endpoint: Sui's chain identifier, the first four bytes of the
   * genesis checkpoint digest in lowercase hex (mainnet: `35834a8a`), the same whichever protocol
   * the source speaks. Checkpoint numbers are only meaningful within one chain: a cursor saved for
   * one chain means nothing on another (a sandbox chain restarted without its data file, an
   * endpoint pointed at another network), so a cursor is kept under this identifier. Retries
   * transient errors with the source's backoff until `signal` aborts, then rejects with the
   * signal's reason; rejects at once with ChainSourceUnsupportedError when the endpoint lacks
   * the call.
   */
  chainIdentifier(signal: AbortSignal): Promise<string>;
  /**
   * Yields batches in checkpoint order, starting strictly after `afterCheckpoint` (or at the
   * chain's current tip when it is undefined). Retries transient errors with backoff on its
   * own; ends when `signal` aborts. An event may be yielded twice (after a reconnect): the
   * indexer deduplicates on (txDigest, eventIndex).
   */
  batches(afterCheckpoint: bigint | undefined, signal: AbortSignal): AsyncIterable<CheckpointBatch>;
}
