import { createHash, randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresForTests } from '../../test/support/postgres.js';
import {
  appliedMigrations,
  eventsOf,
  insertMerchant,
  MIGRATION_COUNT,
  newProposal,
  publicTables,
  selectRows,
  TABLES,
} from '../../test/support/store.js';
import { registerMerchant } from '../merchants/index.js';
import { openStore, UniqueViolation, type DatabaseLocation, type Store } from './index.js';

const pg = await postgresForTests();
const pendingState = (transactionId: string) => ({
  transactionId,
  status: 'pending',
  version: 1,
  suiTxDigest: null,
  settledAt: null,
  late: false,
});

interface Opened {
  location: DatabaseLocation;
  drop(): Promise<void>;
}

/** The behaviour every engine must share; registered once per engine below. */
function storeSuite(open: () => Promise<Opened>): void {
  let store: Store;
  let opened: Opened;
  const now = () => new Date();
  const secondsFromNow = (seconds: number) => new Date(Date.now() + seconds * 1000);

  beforeAll(async () => {
    opened = await open();
    store = await openStore(opened.location);
  });
  afterAll(async () => {
    await store?.close();
    await opened?.drop();
  });

  it('runs its migrations at open', async () => {
    expect(await publicTables(store)).toEqual(expect.arrayContaining(TABLES));
    expect(await appliedMigrations(store)).toBe(MIGRATION_COUNT);
  });

  describe('proposals', () => {
    it('creates a proposal at version 1 with a created status event', async () => {
      const proposal = newProposal(await insertMerchant(store));
      expect(await store.proposals.create(proposal)).toEqual(pendingState(proposal.transactionId));
      expect(await store.proposals.state(proposal.transactionId)).toEqual(
        pendingState(proposal.transactionId),
      );
      expect(await eventsOf(store.database.db, proposal.transactionId)).toEqual([
        { version: 1, status: 'pending', event: 'created' },
      ]);
    });

    it('refuses a second proposal with the same intent hash and leaves nothing behind', async () => {
      const merchant = await insertMerchant(store);
      const first = newProposal(merchant);
      await store.proposals.create(first);
      const clash = newProposal(merchant, { intentHash: first.intentHash });
      await expect(store.proposals.create(clash)).rejects.toBeInstanceOf(UniqueViolation);
      expect(await store.proposals.state(clash.transactionId)).toBeUndefined();
      expect(await eventsOf(store.database.db, clash.transactionId)).toEqual([]);
    });

    it('cancels with one conditional update: a second cancel changes nothing', async () => {
      const merchant = await insertMerchant(store);
      const { transactionId } = newProposal(merchant);
      await store.proposals.create({ ...newProposal(merchant), transactionId });
      expect(await store.proposals.cancel(transactionId, merchant.id, now())).toMatchObject({
        status: 'cancelled',
        version: 2,
      });
      expect(await store.proposals.cancel(transactionId, merchant.id, now())).toBeUndefined();
      expect(await eventsOf(store.database.db, transactionId)).toEqual([
        { version: 1, status: 'pending', event: 'created' },
        { version: 2, status: 'cancelled', event: 'cancelled' },
      ]);
    });

    it('cancels exactly once when cancels race', async () => {
      const merchant = await insertMerchant(store);
      const proposal = newProposal(merchant);
      await store.proposals.create(proposal);
      const results = await Promise.all(
        Array.from({ length: 6 }, () =>
          store.proposals.cancel(proposal.transactionId, merchant.id, now()),
        ),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await eventsOf(store.database.db, proposal.transactionId)).toHaveLength(2);
    });

    it("does not cancel another merchant's proposal", async () => {
      const proposal = newProposal(await insertMerchant(store));
      await store.proposals.create(proposal);
      const stranger = await insertMerchant(store);
      expect(
        await store.proposals.cancel(proposal.transactionId, stranger.id, now()),
      ).toBeUndefined();
      expect(await store.proposals.state(proposal.transactionId)).toMatchObject({
        status: 'pending',
        version: 1,
      });
    });

    it('reads many states in one call, each as its own, and leaves out unknown ids', async () => {
      const merchant = await insertMerchant(store);
      const created = [newProposal(merchant), newProposal(merchant), newProposal(merchant)];
      for (const proposal of created) await store.proposals.create(proposal);
      const [first, second, third] = created.map((proposal) => proposal.transactionId);
      await store.proposals.cancel(second ?? '', merchant.id, now());

      const states = await store.proposals.states([first ?? '', randomUUID(), second ?? '']);
      expect(states.sort((a, b) => a.version - b.version)).toEqual([
        pendingState(first ?? ''),
        { ...pendingState(second ?? ''), status: 'cancelled', version: 2 },
      ]);
      expect(await store.proposals.states([third ?? ''])).toEqual([pendingState(third ?? '')]);
      expect(await store.proposals.states([])).toEqual([]);
    });
  });

  describe('open states', () => {
    it('reads pending unexpired proposals, expiring last first, page after page, each once', async () => {
      const merchant = await insertMerchant(store);
      // Far ahead of every other test's proposals: `now` below leaves only these open.
      const base = Date.UTC(2100, 0, 1);
      const at = (ms: number) => new Date(base + ms);
      const offsets = [5_000, 9_000, 7_000, 7_000, 7_000, 1_000, 3_000];
      const created = offsets.map((ms) => newProposal(merchant, { expiresAt: at(ms) }));
      for (const proposal of created) await store.proposals.create(proposal);
      const cancelled = newProposal(merchant, { expiresAt: at(8_000) });
      await store.proposals.create(cancelled);
      await store.proposals.cancel(cancelled.transactionId, merchant.id, now());

      const pages: string[][] = [];
      for await (const page of store.proposals.openStates(at(2_000), { max: 10, pageSize: 2 })) {
        expect(page).toEqual(page.map((entry) => pendingState(entry.transactionId)));
        pages.push(page.map((entry) => entry.transactionId));
      }
      const ids = (...indexes: number[]) =>
        indexes.map((index) => created[index]?.transactionId ?? '');
      const tied = ids(2, 3, 4).sort().reverse();
      expect(pages).toEqual([[...ids(1), tied[0]], tied.slice(1), ids(0, 6)]);

      const capped = [];
      for await (const page of store.proposals.openStates(at(2_000), { max: 3, pageSize: 2 }))
        capped.push(...page.map((entry) => entry.transactionId));
      expect(capped).toEqual([...ids(1), ...tied.slice(0, 2)]);
    });
  });

  describe('expiry', () => {
    it('expires only pending proposals past their expiry, once, with an event', async () => {
      const merchant = await insertMerchant(store);
      const at = now();
      const due = newProposal(merchant, { expiresAt: secondsFromNow(-1) });
      const dueNow = newProposal(merchant, { expiresAt: at });
      const future = newProposal(merchant, { expiresAt: secondsFromNow(60) });
      const cancelled = newProposal(merchant, { expiresAt: secondsFromNow(-1) });
      for (const p of [due, dueNow, future, cancelled]) await store.proposals.create(p);
      await store.proposals.cancel(cancelled.transactionId, merchant.id, at);

      const expired = await store.proposals.expireDue(at, 100);
      expect(expired.map((state) => state.transactionId).sort()).toEqual(
        [due.transactionId, dueNow.transactionId].sort(),
      );
      for (const state of expired) {
        expect(state).toEqual({
          ...pendingState(state.transactionId),
          status: 'expired',
          version: 2,
        });
        expect(await eventsOf(store.database.db, state.transactionId)).toEqual([
          { version: 1, status: 'pending', event: 'created' },
          { version: 2, status: 'expired', event: 'expired' },
        ]);
      }
      expect(await store.proposals.state(future.transactionId)).toMatchObject({
        status: 'pending',
      });
      expect(await store.proposals.state(cancelled.transactionId)).toMatchObject({
        status: 'cancelled',
        version: 2,
      });
      expect(await store.proposals.expireDue(at, 100)).toEqual([]);
    });

    it('expires at most `limit` per call, earliest first, and the rest on the next call', async () => {
      const merchant = await insertMerchant(store);
      const proposals = [-3, -2, -1].map((s) =>
        newProposal(merchant, { expiresAt: secondsFromNow(s) }),
      );
      for (const p of proposals) await store.proposals.create(p);
      const ids = proposals.map((p) => p.transactionId);
      const first = await store.proposals.expireDue(now(), 2);
      expect(first.map((s) => s.transactionId).sort()).toEqual(ids.slice(0, 2).sort());
      expect((await store.proposals.expireDue(now(), 2)).map((s) => s.transactionId)).toEqual(
        ids.slice(2),
      );
      expect(await store.proposals.expireDue(now(), 2)).toEqual([]);
    });

    it('tells the earliest pending expiry, after a time when given one', async () => {
      const merchant = await insertMerchant(store);
      // Past every other test's proposals (openStates' end in 2100): only these can answer.
      const at = (seconds: number) => new Date(Date.UTC(2200, 0, 1) + seconds * 1000);
      const later = newProposal(merchant, { expiresAt: at(2) });
      const earliest = newProposal(merchant, { expiresAt: at(1) });
      const cancelled = newProposal(merchant, { expiresAt: at(0.5) });
      for (const p of [later, earliest, cancelled]) await store.proposals.create(p);
      await store.proposals.cancel(cancelled.transactionId, merchant.id, now());

      expect(await store.proposals.nextExpiry(at(0))).toEqual(at(1));
      expect(await store.proposals.nextExpiry(at(1))).toEqual(at(2));
      expect(await store.proposals.nextExpiry(at(2))).toBeUndefined();
      const first = await store.proposals.nextExpiry();
      expect(first && first <= at(1)).toBe(true);
      // Left pending, they would be open in every later test that reads the open ones.
      for (const p of [later, earliest])
        await store.proposals.cancel(p.transactionId, merchant.id, now());
    });
  });

  describe('merchants', () => {
    it('refuses a second merchant with the same hostname', async () => {
      const first = await insertMerchant(store);
      const copy = { ...first, id: randomUUID(), apiKeyHash: 'f'.repeat(64) };
      await expect(store.merchants.create(copy)).rejects.toBeInstanceOf(UniqueViolation);
      expect(await store.merchants.byHostname(first.hostname)).toMatchObject({ id: first.id });
    });

    it('stores the API key only as its SHA-256 hash', async () => {
      const registered = await registerMerchant(
        store,
        {
          name: 'Key Keeper',
          suiAddress: `0x${'7'.repeat(64)}`,
          hostname: `keys-${Date.now()}.example.com`,
          publicKey: '8'.repeat(64),
        },
        now(),
      );
      const rows = await selectRows(
        store.database.db,
        sql`select * from merchants where id = ${registered.merchantId}`,
      );
      expect(rows).toHaveLength(1);
      const stored = Object.values(rows[0] ?? {}).map((value) => String(value));
      expect(stored.some((value) => value.includes(registered.apiKey))).toBe(false);
      const hash = createHash('sha256').update(registered.apiKey).digest('hex');
      expect(stored).toContain(hash);
      expect(await store.merchants.byApiKeyHash(hash)).toMatchObject({
        id: registered.merchantId,
      });
    });
  });
}

describe('store on embedded PGlite (in memory)', () => {
  storeSuite(async () => ({
    location: { kind: 'pglite', dataDir: undefined },
    drop: async () => {},
  }));
});

describe.skipIf(!pg.available)('store on Postgres', () => {
  storeSuite(async () => {
    const database = await pg.createDatabase();
    return { location: { kind: 'postgres', url: database.url }, drop: database.drop };
  });
});
