import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Bus } from '../src/bus/index.js';
import { createPostgresBus } from '../src/bus/postgres.js';
import { createChainSource, startSandboxChain, type SandboxChain } from '../src/chain/index.js';
import { loadConfig } from '../src/config/index.js';
import { soleLeadership, startIndexer, verifySettlement } from '../src/indexer/index.js';
import {
  NotifyOnCommitError,
  openStore,
  type NotifyOnCommit,
  type Store,
  type TransactionState,
} from '../src/store/index.js';
import { postgresForTests, type TestDatabase } from './support/postgres.js';
import {
  insertMerchant,
  newProposal,
  paymentFor,
  settlementEventFor,
  SUI_COIN_TYPE as SUI,
} from './support/store.js';
import { waitFor } from './support/wait.js';

const pg = await postgresForTests();
const silent = pino({ level: 'silent' });
/** Postgres refuses channel names past 63 bytes: a NOTIFY that fails inside the batch. */
const TOO_LONG_CHANNEL = 'c'.repeat(64);

function heardBy(bus: Bus): TransactionState[] {
  const heard: TransactionState[] = [];
  bus.subscribe((states) => heard.push(...states));
  return heard;
}

describe.skipIf(!pg.available)('settlements told inside their transaction (Postgres bus)', () => {
  let database: TestDatabase;
  let store: Store;
  let chain: SandboxChain;
  const buses: Bus[] = [];

  beforeAll(async () => {
    database = await pg.createDatabase();
    store = await openStore({ kind: 'postgres', url: database.url });
    chain = await startSandboxChain({ checkpointIntervalMs: 50 });
  });
  afterEach(async () => {
    await Promise.all(buses.splice(0).map((bus) => bus.close()));
  });
  afterAll(async () => {
    await chain?.stop();
    await store?.close();
    await database?.drop();
  });

  /** Nodes `a` and `b` on a channel of their own. */
  async function twoNodes(): Promise<[Bus, Bus]> {
    const channel = `notify_test_${randomBytes(4).toString('hex')}`;
    const open = (nodeId: string) =>
      createPostgresBus({ url: database.url, nodeId, logger: silent, channel });
    const pair: [Bus, Bus] = [await open('a'), await open('b')];
    buses.push(...pair);
    return pair;
  }

  async function pendingProposal() {
    const merchant = await insertMerchant(store);
    const proposal = newProposal(merchant, { coinType: SUI });
    await store.proposals.create(proposal);
    return proposal;
  }

  async function settleInBatch(cursorName: string, notify: NotifyOnCommit | undefined) {
    const proposal = await pendingProposal();
    const terms = await store.settlements.termsByIntentHashes([proposal.intentHash]);
    const event = settlementEventFor(proposal, {
      checkpoint: 7n,
      checkpointTimestamp: new Date('2026-11-28T08:00:00.123Z'),
    });
    const batch = store.settlements.applyBatch({
      cursorName,
      checkpoint: 7n,
      checkpointTimestamp: event.checkpointTimestamp,
      decisions: [verifySettlement(event, terms.get(proposal.intentHash))],
      now: new Date(),
      notify,
    });
    return { proposal, batch };
  }

  it('another node hears a batch’s settlements from its commit, with no publish after it', async () => {
    const [a, b] = await twoNodes();
    const heardByA = heardBy(a);
    const heardByB = heardBy(b);
    const { batch } = await settleInBatch('notify-heard', a.inTransaction);
    const { settled } = await batch;
    expect(settled).toHaveLength(1);

    await waitFor(() => heardByB.length > 0, 'b to hear the settlement');
    expect(heardByB).toEqual(settled);
    // b's own publish reaches a after anything sent before it: a dropped its echo.
    const marker = { ...(settled[0] as TransactionState), version: 99 };
    await b.publish([marker]);
    await waitFor(() => heardByA.length > 0, 'a to hear b’s publish');
    expect(heardByA).toEqual([marker]);
    // Its own listeners get the batch when told of the commit.
    a.inTransaction?.committed(settled);
    expect(heardByA).toEqual([marker, ...settled]);
  });

  it('a batch whose notification fails is rolled back whole, and nobody hears of it', async () => {
    const [a, b] = await twoNodes();
    const heardByB = heardBy(b);
    const notice = a.inTransaction;
    if (!notice) throw new Error('the Postgres bus offers no in-transaction notice');
    const { proposal, batch } = await settleInBatch('notify-failed', {
      channel: TOO_LONG_CHANNEL,
      lines: (states) => notice.lines(states),
    });
    await expect(batch).rejects.toBeInstanceOf(NotifyOnCommitError);
    expect((await store.proposals.state(proposal.transactionId))?.status).toBe('pending');
    expect(await store.settlements.cursor('notify-failed')).toBeUndefined();

    // a's later publish reaches b after anything committed before it: there was nothing.
    const marker = { ...(await store.proposals.state(proposal.transactionId)), version: 99 };
    await a.publish([marker as TransactionState]);
    await waitFor(() => heardByB.length > 0, 'b to hear a’s publish');
    expect(heardByB).toEqual([marker]);
  });

  it('the indexer applies such a batch again and publishes it after the commit', async () => {
    const [a, b] = await twoNodes();
    const heardByB = heardBy(b);
    const notice = a.inTransaction;
    if (!notice) throw new Error('the Postgres bus offers no in-transaction notice');
    const broken: Bus = Object.create(a, {
      inTransaction: { value: { ...notice, channel: TOO_LONG_CHANNEL } },
    });
    const warnings: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => warnings.push(line) });
    const source = createChainSource(loadConfig({ SANDBOX_CHAIN_URL: chain.url }), { logger });
    const indexer = startIndexer({
      store,
      source,
      bus: broken,
      leadership: soleLeadership(),
      logger,
    });
    try {
      const proposal = await pendingProposal();
      await waitFor(() => indexer.status().checkpoint !== undefined, 'the indexer to start');
      await chain.pay(paymentFor(proposal));
      await waitFor(() => heardByB.length > 0, 'b to hear the settlement', 15_000);
      expect(heardByB.map((state) => [state.transactionId, state.status])).toEqual([
        [proposal.transactionId, 'settled'],
      ]);
      expect((await store.proposals.state(proposal.transactionId))?.status).toBe('settled');
      expect(warnings.join('')).toContain('publishing after commit');
    } finally {
      await indexer.stop();
    }
  });
});
