import { and, eq, ne, sql } from 'drizzle-orm';
import type { Db, Tx } from './database.js';
import { indexerCursor, proposals, settlementAnomalies, statusEvents } from './schema.js';
import type { TransactionState } from './types.js';

export type AnomalyReason = 'underpaid' | 'wrong_recipient' | 'wrong_coin' | 'unknown_intent';

/** What a settlement must match: the proposal's terms as stored at creation. */
export interface PaymentTerms {
  transactionId: string;
  intentHash: string;
  merchantSuiAddress: string;
  coinType: string;
  currency: string;
  amountBaseUnits: bigint;
}

export interface VerifiedSettlement {
  kind: 'settle';
  transactionId: string;
  txDigest: string;
  eventIndex: number;
  checkpoint: bigint;
  checkpointTimestamp: Date;
  amountReceived: bigint;
}

export interface Anomaly {
  kind: 'anomaly';
  reason: AnomalyReason;
  transactionId: string | undefined;
  txDigest: string;
  eventIndex: number;
  checkpoint: bigint;
  intentHash: string;
  detail: Record<string, string>;
}

export type SettlementDecision = VerifiedSettlement | Anomaly;

/**
 * A NOTIFY sent inside the batch's transaction (the bus's InTransactionNotice, as far as the
 * store needs it): delivered by Postgres at the commit, or never.
 */
export interface NotifyOnCommit {
  channel: string;
  lines(states: readonly TransactionState[]): string;
}

/** The in-transaction NOTIFY failed (the whole batch rolled back with it). */
export class NotifyOnCommitError extends Error {
  constructor(cause: unknown) {
    super(`NOTIFY inside the batch failed: ${(cause as Error)?.message ?? String(cause)}`, {
      cause,
    });
  }
}

export interface AppliedBatch {
  /** Transitions committed by this batch (to publish after commit, unless told in it). */
  settled: TransactionState[];
  /** Anomalies recorded for the first time (a replayed batch records none). */
  anomalies: Anomaly[];
  /**
   * From asking for the COMMIT to having its answer back here: a slow disk shows here, and the
   * NOTIFY inside the batch may reach the other nodes before that answer does.
   */
  commitMs: number;
}

const termsColumns = {
  transactionId: proposals.transactionId,
  intentHash: proposals.intentHash,
  merchantSuiAddress: proposals.merchantSuiAddress,
  coinType: proposals.coinType,
  currency: proposals.currency,
  amountBaseUnits: proposals.amountBaseUnits,
};

function toTerms(row: { amountBaseUnits: string } & Omit<PaymentTerms, 'amountBaseUnits'>) {
  return { ...row, amountBaseUnits: BigInt(row.amountBaseUnits) };
}

export function settlementStore(db: Db) {
  return {
    async termsByTransaction(transactionId: string): Promise<PaymentTerms | undefined> {
      const [row] = await db
        .select(termsColumns)
        .from(proposals)
        .where(eq(proposals.transactionId, transactionId));
      return row && toTerms(row);
    },

    async termsByIntentHashes(intentHashes: string[]): Promise<Map<string, PaymentTerms>> {
      if (intentHashes.length === 0) return new Map();
      const rows = await db
        .select(termsColumns)
        .from(proposals)
        .where(sql`${proposals.intentHash} in ${intentHashes}`);
      return new Map(rows.map((row) => [row.intentHash, toTerms(row)]));
    },

    /**
     * The most recently advanced cursor of any chain: how far settlements are indexed, for
     * nodes that do not run the indexer themselves.
     */
    async latestCursor(): Promise<{ checkpoint: bigint; timestamp: Date | null } | undefined> {
      const [row] = await db
        .select({
          checkpoint: indexerCursor.checkpoint,
          timestamp: indexerCursor.checkpointTimestamp,
        })
        .from(indexerCursor)
        .where(sql`${indexerCursor.name} like 'settlement:%'`)
        .orderBy(sql`${indexerCursor.updatedAt} desc`)
        .limit(1);
      return row;
    },

    async cursor(
      name: string,
    ): Promise<{ checkpoint: bigint; timestamp: Date | null } | undefined> {
      const [row] = await db
        .select({
          checkpoint: indexerCursor.checkpoint,
          timestamp: indexerCursor.checkpointTimestamp,
        })
        .from(indexerCursor)
        .where(eq(indexerCursor.name, name));
      return row;
    },

    /**
     * Applies one batch of decisions and advances the cursor in ONE transaction: either all of
     * it is committed, or none of it and the batch is read again after a restart.
     */
    async applyBatch(input: {
      cursorName: string;
      checkpoint: bigint;
      checkpointTimestamp: Date;
      decisions: SettlementDecision[];
      now: Date;
      /** Postgres only: tell the bus's listeners of the settled states at the commit. */
      notify?: NotifyOnCommit | undefined;
    }): Promise<AppliedBatch> {
      let commitAskedAt = 0;
      const applied = await db.transaction(async (tx) => {
        const settlements = input.decisions.filter(
          (d): d is VerifiedSettlement => d.kind === 'settle',
        );
        const anomalies = input.decisions.filter((d): d is Anomaly => d.kind === 'anomaly');
        const result: Omit<AppliedBatch, 'commitMs'> = { settled: [], anomalies: [] };
        for (const chunk of chunks(settlements, CHUNK_ROWS)) {
          result.settled.push(...(await settleAll(tx, chunk, input.now)));
        }
        for (const chunk of chunks(anomalies, CHUNK_ROWS)) {
          result.anomalies.push(...(await recordAnomalies(tx, chunk, input.now)));
        }
        await tx
          .insert(indexerCursor)
          .values({
            name: input.cursorName,
            checkpoint: input.checkpoint,
            checkpointTimestamp: input.checkpointTimestamp,
            updatedAt: input.now,
          })
          .onConflictDoUpdate({
            target: indexerCursor.name,
            set: {
              checkpoint: input.checkpoint,
              checkpointTimestamp: input.checkpointTimestamp,
              updatedAt: input.now,
            },
            // Never move the cursor backwards, whatever a source replays.
            setWhere: sql`${indexerCursor.checkpoint} < ${input.checkpoint}`,
          });
        if (input.notify && result.settled.length > 0) {
          await notifyOnCommit(tx, input.notify, result.settled);
        }
        commitAskedAt = performance.now();
        return result;
      });
      return { ...applied, commitMs: performance.now() - commitAskedAt };
    },
  };
}

/** The Postgres bus's own statement (src/bus/postgres.ts): a line per message, split there. */
async function notifyOnCommit(tx: Tx, notify: NotifyOnCommit, states: TransactionState[]) {
  try {
    await tx.execute(sql`select count(pg_notify(${notify.channel}, chunk))
      from unnest(string_to_array(${notify.lines(states)}::text, chr(10))) as chunk`);
  } catch (error) {
    throw new NotifyOnCommitError(error);
  }
}

/** Rows per statement: well under Postgres's 65,535 bind parameters. */
const CHUNK_ROWS = 1000;

function* chunks<T>(items: T[], size: number): Generator<T[]> {
  for (let start = 0; start < items.length; start += size) yield items.slice(start, start + size);
}

/**
 * Any status but settled → settled, for a whole chunk in ONE conditional UPDATE … FROM (VALUES
 * …), then one multi-row INSERT of their status_events. The chain is the truth about money: an
 * expired or cancelled proposal that was paid anyway is settled and flagged late. A replayed
 * event finds its proposal already settled and changes nothing.
 */
async function settleAll(
  tx: Tx,
  chunk: VerifiedSettlement[],
  now: Date,
): Promise<TransactionState[]> {
  // One settlement per proposal: the chain settles an intent once, so a second one is a replay.
  const byTransaction = new Map(chunk.map((s) => [s.transactionId, s] as const));
  const rows = sql.join(
    [...byTransaction.values()].map(
      (s) =>
        sql`(${s.transactionId}::uuid, ${s.txDigest}, ${s.checkpointTimestamp.toISOString()}::timestamptz, ${s.amountReceived.toString()}::numeric)`,
    ),
    sql`, `,
  );
  const settled = await tx
    .update(proposals)
    .set({
      status: 'settled',
      version: sql`${proposals.version} + 1`,
      suiTxDigest: sql`v.digest`,
      settledAt: sql`v.settled_at`,
      late: sql`${proposals.status} <> 'pending'`,
      amountReceivedBaseUnits: sql`v.received`,
      updatedAt: now,
    })
    .from(sql`(values ${rows}) as v(transaction_id, digest, settled_at, received)`)
    .where(and(sql`${proposals.transactionId} = v.transaction_id`, ne(proposals.status, 'settled')))
    .returning({
      transactionId: proposals.transactionId,
      status: proposals.status,
      version: proposals.version,
      suiTxDigest: proposals.suiTxDigest,
      settledAt: proposals.settledAt,
      late: proposals.late,
    });
  if (settled.length === 0) return [];
  await tx.insert(statusEvents).values(
    settled.map((row) => {
      const source = byTransaction.get(row.transactionId) as VerifiedSettlement;
      return {
        transactionId: row.transactionId,
        version: row.version,
        status: 'settled' as const,
        event: 'settled' as const,
        suiTxDigest: source.txDigest,
        eventIndex: source.eventIndex,
        checkpoint: source.checkpoint,
        late: row.late,
        createdAt: now,
      };
    }),
  );
  return settled;
}

/** Records the chunk's anomalies; returns only those seen for the first time. */
async function recordAnomalies(tx: Tx, chunk: Anomaly[], now: Date): Promise<Anomaly[]> {
  const inserted = await tx
    .insert(settlementAnomalies)
    .values(
      chunk.map((anomaly) => ({
        suiTxDigest: anomaly.txDigest,
        eventIndex: anomaly.eventIndex,
        checkpoint: anomaly.checkpoint,
        intentHash: anomaly.intentHash,
        transactionId: anomaly.transactionId,
        reason: anomaly.reason,
        detail: anomaly.detail,
        createdAt: now,
      })),
    )
    .onConflictDoNothing()
    .returning({
      txDigest: settlementAnomalies.suiTxDigest,
      eventIndex: settlementAnomalies.eventIndex,
    });
  const fresh = new Set(inserted.map((row) => `${row.txDigest}:${row.eventIndex}`));
  return chunk.filter((anomaly) => fresh.has(`${anomaly.txDigest}:${anomaly.eventIndex}`));
}

export type SettlementStore = ReturnType<typeof settlementStore>;
