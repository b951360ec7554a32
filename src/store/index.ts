import { sql } from 'drizzle-orm';
import { openDatabase, type DatabaseLocation } from './database.js';
import { merchantStore } from './merchants.js';
import { proposalStore } from './proposals.js';
import { settlementStore } from './settlements.js';

export type { DatabaseLocation, Db } from './database.js';
export type { HistoryEntry, MerchantProposal } from './proposals.js';
export type {
  AnomalyReason,
  Anomaly,
  AppliedBatch,
  NotifyOnCommit,
  PaymentTerms,
  SettlementDecision,
} from './settlements.js';
export { NotifyOnCommitError } from './settlements.js';
export type { Merchant, NewProposal, TransactionState } from './types.js';
export { UniqueViolation } from './types.js';

export async function openStore(location: DatabaseLocation) {
  const database = await openDatabase(location);
  let closing: Promise<void> | undefined;
  return {
    kind: database.kind,
    /** The Drizzle handle itself, for tests and benchmarks that inspect tables directly. */
    database,
    merchants: merchantStore(database.db),
    proposals: proposalStore(database.db),
    settlements: settlementStore(database.db),
    /** A trivial query (readiness). */
    ping: async (): Promise<void> => {
      await database.db.execute(sql`select 1`);
    },
    /** Idempotent: a second call waits for the first. */
    close: () => (closing ??= database.close()),
  };
}

export type Store = Awaited<ReturnType<typeof openStore>>;
