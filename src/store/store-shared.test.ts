import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresForTests, type TestDatabase } from '../../test/support/postgres.js';
import {
  appliedMigrations,
  insertMerchant,
  MIGRATION_COUNT,
  newProposal,
  publicTables,
  selectRows,
  TABLES,
} from '../../test/support/store.js';
import { openStore, type Store } from './index.js';
import { proposals, statusEvents } from './schema.js';

const pg = await postgresForTests();

/** Expires batch after batch until this store finds nothing it can take. */
async function sweepUntilEmpty(store: Store, batchSize: number): Promise<string[]> {
  const expired: string[] = [];
  for (;;) {
    const batch = await store.proposals.expireDue(new Date(), batchSize);
    if (batch.length === 0) return expired;
    expired.push(...batch.map((state) => state.transactionId));
  }
}

describe.skipIf(!pg.available)('several stores on one Postgres database', () => {
  let database: TestDatabase;
  let first: Store;
  let second: Store;

  beforeAll(async () => {
    database = await pg.createDatabase();
    first = await openStore({ kind: 'postgres', url: database.url });
    second = await openStore({ kind: 'postgres', url: database.url });
  });
  afterAll(async () => {
    await first?.close();
    await second?.close();
    await database?.drop();
  });

  it('migrates once: opening the database again applies nothing and keeps the data', async () => {
    const merchant = await insertMerchant(first);
    const third = await openStore({ kind: 'postgres', url: database.url });
    try {
      expect(await appliedMigrations(third)).toBe(MIGRATION_COUNT);
      expect(await publicTables(third)).toEqual(await publicTables(first));
      expect(await third.merchants.byHostname(merchant.hostname)).toMatchObject({
        id: merchant.id,
      });
    } finally {
      await third.close();
    }
  });

  it('migrates a fresh database once when several nodes open it at the same time', async () => {
    const fresh = await pg.createDatabase();
    try {
      const stores = await Promise.all(
        [1, 2, 3].map(() => openStore({ kind: 'postgres', url: fresh.url })),
      );
      for (const store of stores) {
        expect(await appliedMigrations(store)).toBe(MIGRATION_COUNT);
        expect(await publicTables(store)).toEqual(expect.arrayContaining(TABLES));
      }
      await Promise.all(stores.map((store) => store.close()));
    } finally {
      await fresh.drop();
    }
  });

  it('expires each proposal exactly once when two stores sweep at the same time', async () => {
    const merchant = await insertMerchant(first);
    const due = Array.from({ length: 60 }, (_, i) =>
      newProposal(merchant, { expiresAt: new Date(Date.now() - 1000 - i) }),
    );
    for (const proposal of due) await first.proposals.create(proposal);
    const ids = due.map((proposal) => proposal.transactionId);

    const sweeps = await Promise.all([
      sweepUntilEmpty(first, 7),
      sweepUntilEmpty(second, 7),
      sweepUntilEmpty(first, 7),
      sweepUntilEmpty(second, 7),
    ]);
    expect(sweeps.flat().sort()).toEqual([...ids].sort());

    const events = await first.database.db
      .select({ id: statusEvents.transactionId, version: statusEvents.version })
      .from(statusEvents)
      .where(and(inArray(statusEvents.transactionId, ids), eq(statusEvents.event, 'expired')));
    expect(events.map((event) => event.id).sort()).toEqual([...ids].sort());
    expect(new Set(events.map((event) => event.version))).toEqual(new Set([2]));

    const states = await second.database.db
      .select({ status: proposals.status, version: proposals.version })
      .from(proposals)
      .where(inArray(proposals.transactionId, ids));
    expect(states.every((row) => row.status === 'expired' && row.version === 2)).toBe(true);
  });
});

describe('embedded PGlite in a data folder', () => {
  it('keeps its data and applies no migration twice when reopened', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'ips-store-'));
    try {
      const first = await openStore({ kind: 'pglite', dataDir });
      const merchant = await insertMerchant(first);
      await first.close();

      const reopened = await openStore({ kind: 'pglite', dataDir });
      try {
        expect(await appliedMigrations(reopened)).toBe(MIGRATION_COUNT);
        expect(await reopened.merchants.byHostname(merchant.hostname)).toMatchObject({
          id: merchant.id,
        });
        const [row] = await selectRows<{ n: number | string }>(
          reopened.database.db,
          sql`select count(*) as n from merchants`,
        );
        expect(Number(row?.n)).toBe(1);
      } finally {
        await reopened.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
