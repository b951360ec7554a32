import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  check,
  index,
  integer,
  jsonb,
  numeric,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

const instant = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const merchants = pgTable('merchants', {
  id: uuid('id').primaryKey(),
  name: text('name').notNull(),
  suiAddress: text('sui_address').notNull(),
  hostname: text('hostname').notNull().unique(),
  publicKey: text('public_key').notNull(),
  /** SHA-256 of the API key; the key itself is shown once and never stored. */
  apiKeyHash: text('api_key_hash').notNull().unique(),
  createdAt: instant('created_at').notNull(),
});

export const proposals = pgTable(
  'proposals',
  {
    transactionId: uuid('transaction_id').primaryKey(),
    merchantId: uuid('merchant_id')
      .notNull()
      .references(() => merchants.id),
    intentHash: text('intent_hash').notNull().unique(),
    /** The proposal document exactly as wallets receive it (intentHash included). */
    document: jsonb('document').notNull(),
    currency: text('currency').notNull(),
    coinType: text('coin_type').notNull(),
    /** Amount due in the coin's base units (u64 fits; numeric avoids signed-bigint overflow). */
    amountBaseUnits: numeric('amount_base_units', { precision: 20, scale: 0 }).notNull(),
    merchantSuiAddress: text('merchant_sui_address').notNull(),
    status: text('status', { enum: ['pending', 'settled', 'expired', 'cancelled'] }).notNull(),
    /** Bumped by every transition; the last status_events row has the same version. */
    version: integer('version').notNull(),
    suiTxDigest: text('sui_tx_digest'),
    /** The settlement's checkpoint timestamp, not the time the indexer saw it. */
    settledAt: instant('settled_at'),
    /** Settled after it had expired or been cancelled: the merchant may owe a refund. */
    late: boolean('late').notNull().default(false),
    amountReceivedBaseUnits: numeric('amount_received_base_units', { precision: 20, scale: 0 }),
    createdAt: instant('created_at').notNull(),
    updatedAt: instant('updated_at').notNull(),
    expiresAt: instant('expires_at').notNull(),
  },
  (t) => [
    index('proposals_merchant_idx').on(t.merchantId, t.createdAt),
    index('proposals_pending_expiry_idx')
      .on(t.expiresAt)
      .where(sql`${t.status} = 'pending'`),
    check('proposals_version_positive', sql`${t.version} > 0`),
  ],
);

/** Append-only log of every transition, creation included (version 1). */
export const statusEvents = pgTable(
  'status_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    transactionId: uuid('transaction_id')
      .notNull()
      .references(() => proposals.transactionId),
    version: integer('version').notNull(),
    status: text('status', { enum: ['pending', 'settled', 'expired', 'cancelled'] }).notNull(),
    event: text('event', { enum: ['created', 'settled', 'expired', 'cancelled'] }).notNull(),
    suiTxDigest: text('sui_tx_digest'),
    /** Position of the settlement event inside its transaction; with the digest, unique. */
    eventIndex: integer('event_index'),
    checkpoint: bigint('checkpoint', { mode: 'bigint' }),
    late: boolean('late').notNull().default(false),
    createdAt: instant('created_at').notNull(),
  },
  (t) => [
    uniqueIndex('status_events_tx_version_uq').on(t.transactionId, t.version),
    uniqueIndex('status_events_chain_event_uq').on(t.suiTxDigest, t.eventIndex),
  ],
);

/** Where the indexer resumes: the last checkpoint it processed completely. */
export const indexerCursor = pgTable('indexer_cursor', {
  name: text('name').primaryKey(),
  checkpoint: bigint('checkpoint', { mode: 'bigint' }).notNull(),
  checkpointTimestamp: instant('checkpoint_timestamp'),
  updatedAt: instant('updated_at').notNull(),
});

/** Settlement events that did not count: wrong recipient, coin or amount, or no proposal. */
export const settlementAnomalies = pgTable(
  'settlement_anomalies',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    suiTxDigest: text('sui_tx_digest').notNull(),
    eventIndex: integer('event_index').notNull(),
    checkpoint: bigint('checkpoint', { mode: 'bigint' }).notNull(),
    intentHash: text('intent_hash').notNull(),
    transactionId: uuid('transaction_id'),
    reason: text('reason', {
      enum: ['underpaid', 'wrong_recipient', 'wrong_coin', 'unknown_intent'],
    }).notNull(),
    detail: jsonb('detail').notNull(),
    createdAt: instant('created_at').notNull(),
  },
  (t) => [uniqueIndex('settlement_anomalies_event_uq').on(t.suiTxDigest, t.eventIndex)],
);

export const schema = { merchants, proposals, statusEvents, indexerCursor, settlementAnomalies };
