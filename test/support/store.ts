import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { count, eq, sql, type SQL } from 'drizzle-orm';
import { PROJECT_ROOT } from '../../src/config/index.js';
import { merchants, proposals, statusEvents } from '../../src/store/schema.js';
import type { SettlementEvent } from '../../src/chain/types.js';
import type { Db, Merchant, NewProposal, Store } from '../../src/store/index.js';

export interface RowCounts {
  merchants: number;
  proposals: number;
  statusEvents: number;
}

/** Row counts straight from the tables: "nothing was written" is checked against these. */
export async function rowCounts(db: Db): Promise<RowCounts> {
  const [m] = await db.select({ n: count() }).from(merchants);
  const [p] = await db.select({ n: count() }).from(proposals);
  const [e] = await db.select({ n: count() }).from(statusEvents);
  return { merchants: m?.n ?? -1, proposals: p?.n ?? -1, statusEvents: e?.n ?? -1 };
}

/** Rows of a raw query on either engine (postgres.js returns an array, PGlite `{ rows }`). */
export async function selectRows<T = Record<string, unknown>>(db: Db, query: SQL): Promise<T[]> {
  const result = (await db.execute(query)) as unknown as T[] | { rows: T[] };
  return Array.isArray(result) ? result : result.rows;
}

/** The status_events rows of one transaction, oldest first. */
export async function eventsOf(db: Db, transactionId: string) {
  return db
    .select({
      version: statusEvents.version,
      status: statusEvents.status,
      event: statusEvents.event,
    })
    .from(statusEvents)
    .where(eq(statusEvents.transactionId, transactionId))
    .orderBy(statusEvents.version);
}

/** Inserts a merchant straight into the store (no HTTP), with a unique hostname. */
export async function insertMerchant(store: Store): Promise<Merchant> {
  const merchant: Merchant = {
    id: randomUUID(),
    name: 'Store Test Shop',
    suiAddress: `0x${randomBytes(32).toString('hex')}`,
    hostname: `shop-${randomBytes(6).toString('hex')}.example.com`,
    publicKey: randomBytes(32).toString('hex'),
    createdAt: new Date(),
  };
  await store.merchants.create({ ...merchant, apiKeyHash: randomBytes(32).toString('hex') });
  return merchant;
}

/** A proposal row for `merchant`; the document's content does not matter to the store. */
export function newProposal(merchant: Merchant, overrides: Partial<NewProposal> = {}): NewProposal {
  const createdAt = overrides.createdAt ?? new Date();
  return {
    transactionId: randomUUID(),
    merchantId: merchant.id,
    intentHash: randomBytes(32).toString('hex'),
    document: { '@type': 'CommerceProposal' },
    currency: 'SUI',
    coinType: '0x2::sui::SUI',
    amountBaseUnits: 1_000_000_000n,
    merchantSuiAddress: merchant.suiAddress,
    createdAt,
    expiresAt: new Date(createdAt.getTime() + 900_000),
    ...overrides,
  };
}

/** SUI's coin type as the chain spells it in events (the address in full). */
export const SUI_COIN_TYPE = `0x${'0'.repeat(63)}2::sui::SUI`;

/** The chain's event for a payment of exactly what `proposal` asks, in SUI. */
export function settlementEventFor(
  proposal: { intentHash: string; merchantSuiAddress: string; amountBaseUnits: bigint },
  overrides: Partial<SettlementEvent> = {},
): SettlementEvent {
  return {
    txDigest: randomBytes(32).toString('base64url'),
    eventIndex: 0,
    checkpoint: 10n,
    checkpointTimestamp: new Date('2026-11-27T12:00:00.000Z'),
    intentHash: proposal.intentHash,
    merchant: proposal.merchantSuiAddress,
    amount: proposal.amountBaseUnits,
    receiptId: `0x${'ab'.repeat(32)}`,
    warrantyId: null,
    credited: [{ coinType: SUI_COIN_TYPE, amount: proposal.amountBaseUnits }],
    ...overrides,
  };
}

/** What a wallet pays for `proposal` on the sandbox chain: exactly its terms. */
export function paymentFor(proposal: NewProposal) {
  return {
    intentHash: proposal.intentHash,
    merchant: proposal.merchantSuiAddress,
    amount: proposal.amountBaseUnits,
    coinType: proposal.coinType,
  };
}

/** Every table the migrations create. */
export const TABLES = [
  'indexer_cursor',
  'merchants',
  'proposals',
  'settlement_anomalies',
  'status_events',
];

/** How many migrations the project ships (drizzle-kit's journal). */
export const MIGRATION_COUNT = (
  JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'drizzle/meta/_journal.json'), 'utf8')) as {
    entries: unknown[];
  }
).entries.length;

export async function publicTables(store: Store): Promise<string[]> {
  const rows = await selectRows<{ name: string }>(
    store.database.db,
    sql`select table_name as name from information_schema.tables
        where table_schema = 'public' order by table_name`,
  );
  return rows.map((row) => row.name);
}

/** Rows in drizzle's own migrations journal table: one per applied migration. */
export async function appliedMigrations(store: Store): Promise<number> {
  const [row] = await selectRows<{ n: number | string }>(
    store.database.db,
    sql`select count(*) as n from drizzle.__drizzle_migrations`,
  );
  return Number(row?.n);
}
