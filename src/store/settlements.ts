import { and, eq, ne, sql } from 'drizzle-orm';
import type { Db } from './database.js';
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

export interface AppliedBatch {
  /** Transitions committed by this batch, to publish after commit. */
  settled: TransactionState[];
  /** Anomalies recorded for the first time (a replayed batch records none). */
  anomalies: Anomaly[];
}

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

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
    }): Promise<AppliedBatch> {
      return db.transaction(async (tx) => {
        const result: AppliedBatch = { settled: [], anomalies: [] };
        for (const decision of input.decisions) {
          if (decision.kind === 'settle') {
            const state = await settle(tx, decision, input.now);
            if (state) result.settled.push(state);
          } else if (await recordAnomaly(tx, decision, input.now)) {
            result.anomalies.push(decision);
          }
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
        return result;
      });
    },
  };
}

/**
 * Any status but settled → settled, as one conditional UPDATE. The chain is the truth about
 * money: an expired or cancelled proposal that was paid anyway is settled and flagged late.
 * A replayed event finds the proposal already settled and changes nothing.
 */
async function settle(
  tx: Tx,
  settlement: VerifiedSettlement,
  now: Date,
): Promise<TransactionState | undefined> {
  const [row] = await tx
    .update(proposals)
    .set({
      status: 'settled',
      version: sql`${proposals.version} + 1`,
      suiTxDigest: settlement.txDigest,
      settledAt: settlement.checkpointTimestamp,
      late: sql`${proposals.status} <> 'pending'`,
      amountReceivedBaseUnits: settlement.amountReceived.toString(),
      updatedAt: now,
    })
    .where(
      and(eq(proposals.transactionId, settlement.transactionId), ne(proposals.status, 'settled')),
    )
    .returning({
      transactionId: proposals.transactionId,
      status: proposals.status,
      version: proposals.version,
      suiTxDigest: proposals.suiTxDigest,
      settledAt: proposals.settledAt,
      late: proposals.late,
    });
  if (!row) return undefined;
  await tx.insert(statusEvents).values({
    transactionId: row.transactionId,
    version: row.version,
    status: 'settled',
    event: 'settled',
    suiTxDigest: settlement.txDigest,
    eventIndex: settlement.eventIndex,
    checkpoint: settlement.checkpoint,
    late: row.late,
    createdAt: now,
  });
  return row;
}

async function recordAnomaly(tx: Tx, anomaly: Anomaly, now: Date): Promise<boolean> {
  const inserted = await tx
    .insert(settlementAnomalies)
    .values({
      suiTxDigest: anomaly.txDigest,
      eventIndex: anomaly.eventIndex,
      checkpoint: anomaly.checkpoint,
      intentHash: anomaly.intentHash,
      transactionId: anomaly.transactionId,
      reason: anomaly.reason,
      detail: anomaly.detail,
      createdAt: now,
    })
    .onConflictDoNothing()
    .returning({ id: settlementAnomalies.id });
  return inserted.length > 0;
}

export type SettlementStore = ReturnType<typeof settlementStore>;
