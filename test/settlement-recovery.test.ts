import { count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { createLocalBus } from '../src/bus/index.js';
import { createChainSource, startSandboxChain, type SandboxChain } from '../src/chain/index.js';
import type { ChainSource } from '../src/chain/types.js';
import { loadConfig } from '../src/config/index.js';
import { settlementCursorName, soleLeadership, startIndexer } from '../src/indexer/index.js';
import { openStore, type Store, type TransactionState } from '../src/store/index.js';
import { statusEvents } from '../src/store/schema.js';
import { API } from './support/http.js';
import { createProposal, demoKey, startTestNode } from './support/node.js';
import { postgresForTests, type TestDatabase } from './support/postgres.js';
import { ensureBuilt, spawnService } from './support/process.js';
import { insertMerchant, newProposal, paymentFor } from './support/store.js';
import { waitFor } from './support/wait.js';

const pg = await postgresForTests();
const silent = pino({ level: 'silent' });

async function settledEventCounts(store: Store, ids: string[]): Promise<number[]> {
  const rows = await store.database.db
    .select({ id: statusEvents.transactionId, n: count() })
    .from(statusEvents)
    .where(eq(statusEvents.event, 'settled'))
    .groupBy(statusEvents.transactionId);
  const byId = new Map(rows.map((row) => [row.id, row.n]));
  return ids.map((id) => byId.get(id) ?? 0);
}

describe('an event delivered twice', () => {
  it('is applied once and published once', async () => {
    const chain = await startSandboxChain({ checkpointIntervalMs: 50 });
    const store = await openStore({ kind: 'pglite', dataDir: undefined });
    const config = loadConfig({ SANDBOX_CHAIN_URL: chain.url });
    const real = createChainSource(config, { logger: silent });
    // Every batch twice, as a source might after a reconnect.
    const twice: ChainSource = {
      chainIdentifier: (signal) => real.chainIdentifier(signal),
      async *batches(after, signal) {
        for await (const batch of real.batches(after, signal)) {
          yield batch;
          yield batch;
        }
      },
    };
    const published: TransactionState[] = [];
    const bus = createLocalBus('test');
    bus.subscribe((states) => published.push(...states));
    const indexer = startIndexer({
      store,
      source: twice,
      bus,
      leadership: soleLeadership(),
      logger: silent,
    });
    try {
      const merchant = await insertMerchant(store);
      const proposal = newProposal(merchant, { coinType: `0x${'0'.repeat(63)}2::sui::SUI` });
      await store.proposals.create(proposal);
      // A fresh chain is followed from its tip: pay only once the indexer holds a position, or a
      // slow start (a loaded machine) would place the payment behind it.
      await waitFor(() => indexer.status().checkpoint !== undefined, 'the indexer to start');
      await chain.pay(paymentFor(proposal));
      await waitFor(() => published.length > 0, 'the settlement to be published', 15_000);
      const tip = chain.latestCheckpoint();
      await waitFor(
        () => (indexer.status().checkpoint ?? 0n) >= tip,
        'the indexer to pass the tip',
      );
      expect(published.map((state) => state.transactionId)).toEqual([proposal.transactionId]);
      expect(await settledEventCounts(store, [proposal.transactionId])).toEqual([1]);
    } finally {
      await indexer.stop();
      await store.close();
      await chain.stop();
    }
  });
});

describe.skipIf(!pg.available)('recovery on Postgres with a shared sandbox chain', () => {
  let database: TestDatabase;
  let chain: SandboxChain;
  let store: Store;

  beforeAll(async () => {
    ensureBuilt();
    database = await pg.createDatabase();
    chain = await startSandboxChain({ checkpointIntervalMs: 100 });
    store = await openStore({ kind: 'postgres', url: database.url, maxConnections: 2 });
  }, 120_000);
  afterAll(async () => {
    await store?.close();
    await chain?.stop();
    await database?.drop();
  });

  it('settles once when the chain is replayed after a restart', async () => {
    const env = { SANDBOX_CHAIN_URL: chain.url };
    const location = { kind: 'postgres', url: database.url } as const;
    const first = await startTestNode(env, location);
    const txId = await createProposal(first);
    await first.api('POST', `/sandbox/transactions/${txId}/pay`);
    await waitFor(
      async () => (await first.store.proposals.state(txId))?.status === 'settled',
      'settled',
    );
    await first.stop();

    await store.database.db.execute(`update indexer_cursor set checkpoint = 0`);
    const second = await startTestNode(env, location);
    try {
      const tip = chain.latestCheckpoint();
      await waitFor(
        () => (second.indexer.status().checkpoint ?? 0n) >= tip,
        'the replay to pass the tip',
        15_000,
      );
      expect(await settledEventCounts(store, [txId])).toEqual([1]);
      const rest = await second.api('GET', `${API}/transactions/${txId}/status`, {
        key: demoKey(second),
      });
      expect(rest.body).toMatchObject({ status: 'settled', version: 2 });
    } finally {
      await second.stop();
    }
  });

  it('loses and doubles nothing when the process is killed while indexing', async () => {
    const env = { DATABASE_URL: database.url, SANDBOX_CHAIN_URL: chain.url };
    const service = await spawnService(env);
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      const response = await fetch(`${service.url}${API}/proposals`, {
        method: 'POST',
        headers: { authorization: `Bearer ${service.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          items: [{ name: `Item ${i}`, quantity: 1, unitPrice: '1.00' }],
          amount: { value: '1.00', currency: 'USDC' },
          deliverables: { receipt: true },
        }),
      });
      ids.push(((await response.json()) as { transactionId: string }).transactionId);
    }
    // Some of these die with the process: their failure is expected and must not go unhandled.
    const payments = ids.map((id) =>
      fetch(`${service.url}/sandbox/transactions/${id}/pay`, { method: 'POST' }).catch(
        () => undefined,
      ),
    );
    // Kill as soon as the first settlements land, while the rest are still being indexed.
    await waitFor(
      async () => (await settledEventCounts(store, ids)).some((n) => n > 0),
      'a first settlement',
      15_000,
      5,
    );
    service.child.kill('SIGKILL');
    await service.exited;
    await Promise.allSettled(payments);
    const before = await settledEventCounts(store, ids);

    const restarted = await spawnService(env);
    try {
      // Payments the killed node accepted but the chain had not yet recorded were lost with it;
      // pay those again (the chain refuses the ones it has with 409).
      await Promise.all(
        ids.map((id) =>
          fetch(`${restarted.url}/sandbox/transactions/${id}/pay`, { method: 'POST' }),
        ),
      );
      await waitFor(
        async () => (await settledEventCounts(store, ids)).every((n) => n === 1),
        'every proposal settled',
        20_000,
      );
      expect(await settledEventCounts(store, ids)).toEqual(ids.map(() => 1));
      expect(before.every((n) => n <= 1)).toBe(true);
    } finally {
      restarted.child.kill('SIGTERM');
      await restarted.exited;
    }
  }, 90_000);
});

describe('a chain without settlements', () => {
  it('is followed checkpoint by checkpoint, its cursor saved at most once a second', async () => {
    const chain = await startSandboxChain({ checkpointIntervalMs: 20 });
    const store = await openStore({ kind: 'pglite', dataDir: undefined });
    const config = loadConfig({ SANDBOX_CHAIN_URL: chain.url, CHAIN_POLL_MS: '50' });
    let saves = 0;
    // The real store, its batch transactions counted on the way.
    const counted: Store = {
      ...store,
      settlements: {
        ...store.settlements,
        applyBatch: (input) => {
          saves++;
          return store.settlements.applyBatch(input);
        },
      },
    };
    const indexer = startIndexer({
      store: counted,
      source: createChainSource(config, { logger: silent }),
      bus: createLocalBus('test'),
      leadership: soleLeadership(),
      logger: silent,
    });
    try {
      await waitFor(() => indexer.status().checkpoint !== undefined, 'the first batch');
      const first = indexer.status().checkpoint ?? 0n;
      const savesBefore = saves;
      const startedAt = performance.now();
      await waitFor(
        () => (indexer.status().checkpoint ?? 0n) >= first + 100n,
        'a hundred more checkpoints followed',
      );
      const seconds = (performance.now() - startedAt) / 1000;
      // About 40 polls came back empty meanwhile; each one used to be a transaction.
      expect(saves - savesBefore).toBeLessThanOrEqual(Math.ceil(seconds) + 1);
      const { chainIdentifier } = indexer.status();
      const saved = await store.settlements.cursor(settlementCursorName(chainIdentifier ?? ''));
      // Saved now and then, not never: a restart starts at most a second back.
      expect(saved?.checkpoint).toBeGreaterThan(first);
      expect(saved?.checkpoint).toBeLessThanOrEqual(indexer.status().checkpoint ?? 0n);
    } finally {
      await indexer.stop();
      await store.close();
      await chain.stop();
    }
  });
});
