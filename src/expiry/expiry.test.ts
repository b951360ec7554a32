import pino from 'pino';
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import { insertMerchant, newProposal } from '../../test/support/store.js';
import { waitFor } from '../../test/support/wait.js';
import { createLocalBus } from '../bus/index.js';
import { openStore, type Merchant, type Store, type TransactionState } from '../store/index.js';
import { startExpirySweeper, type ExpirySweeper } from './index.js';

/** Long enough that no wake-up of the interval falls within a test: only `expect` can help. */
const NEVER_MS = 60_000;

describe('expiry sweeper', () => {
  let store: Store;
  let merchant: Merchant;
  let sweeper: ExpirySweeper | undefined;
  const bus = createLocalBus('sweeper-test');
  const published: TransactionState[] = [];
  bus.subscribe((states) => published.push(...states));

  beforeAll(async () => {
    store = await openStore({ kind: 'pglite', dataDir: undefined });
    merchant = await insertMerchant(store);
  });
  afterEach(async () => {
    await sweeper?.stop();
    sweeper = undefined;
  });
  afterAll(async () => {
    await store.close();
  });

  const start = (intervalMs: number, batchSize?: number) =>
    startExpirySweeper({
      store,
      bus,
      logger: pino({ level: 'silent' }),
      intervalMs,
      now: () => new Date(),
      batchSize,
    });

  const create = async (expiresInMs: number) => {
    const proposal = newProposal(merchant, { expiresAt: new Date(Date.now() + expiresInMs) });
    await store.proposals.create(proposal);
    return proposal;
  };

  /** Resolves once every id was published as expired, and says how often each was. */
  const expiredCount = async (ids: string[], timeoutMs: number) => {
    const count = (id: string) =>
      published.filter((s) => s.transactionId === id && s.status === 'expired').length;
    await waitFor(() => ids.every((id) => count(id) > 0), 'the expiries', timeoutMs);
    return ids.map(count);
  };

  it('expires a proposal made on this node at its expiresAt, not an interval later', async () => {
    sweeper = start(NEVER_MS);
    const proposal = await create(300);
    sweeper.expect(proposal.expiresAt);

    expect(await expiredCount([proposal.transactionId], 5_000)).toEqual([1]);
    const state = await store.proposals.state(proposal.transactionId);
    expect(state).toMatchObject({ status: 'expired', version: 2 });
  });

  it('after a sweep, a proposal made here still expires at its expiresAt', async () => {
    const first = await create(200);
    sweeper = start(NEVER_MS);
    // The start reads the first expiry and wakes for it; the sweeper then rests.
    await expiredCount([first.transactionId], 5_000);
    const second = await create(300);
    sweeper.expect(second.expiresAt);

    expect(await expiredCount([second.transactionId], 5_000)).toEqual([1]);
  });

  it('without being told, finds another node’s proposal at its next look', async () => {
    sweeper = start(200);
    const proposal = await create(300);

    expect(await expiredCount([proposal.transactionId], 5_000)).toEqual([1]);
  });

  it('on start, drains a backlog larger than a batch, each proposal once', async () => {
    const due = [];
    for (let i = 0; i < 5; i++) due.push(await create(-1_000));
    const later = await create(NEVER_MS * 10);
    sweeper = start(NEVER_MS, 2);

    const ids = due.map((p) => p.transactionId);
    expect(await expiredCount(ids, 5_000)).toEqual([1, 1, 1, 1, 1]);
    expect(await store.proposals.state(later.transactionId)).toMatchObject({ status: 'pending' });
  });

  it('keeps the earliest of several expected expiries', async () => {
    sweeper = start(NEVER_MS);
    const soon = await create(300);
    const afterIt = await create(600);
    sweeper.expect(afterIt.expiresAt);
    sweeper.expect(soon.expiresAt);

    // The wake-up for the first one reads the next expiry, which wakes it for the second.
    const ids = [soon.transactionId, afterIt.transactionId];
    expect(await expiredCount(ids, 5_000)).toEqual([1, 1]);
  });
});
