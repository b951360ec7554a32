import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifySettlement } from '../src/indexer/index.js';
import type { SettlementEvent } from '../src/chain/types.js';
import {
  openStore,
  type DatabaseLocation,
  type NewProposal,
  type Store,
} from '../src/store/index.js';
import { proposals, settlementAnomalies, statusEvents } from '../src/store/schema.js';
import type { TransactionStatus } from '../src/wire/index.js';
import { TRANSITIONS, type TransitionEvent } from '../src/wire/transitions.js';
import { postgresForTests } from './support/postgres.js';
import {
  insertMerchant,
  newProposal,
  settlementEventFor as eventFor,
  SUI_COIN_TYPE as SUI,
} from './support/store.js';

const pg = await postgresForTests();
/** The event that takes a pending proposal to each terminal status. */
const TO_REACH: Record<Exclude<TransactionStatus, 'pending'>, TransitionEvent> = {
  settled: 'settle',
  expired: 'expire',
  cancelled: 'cancel',
};

function settlementSuite(
  name: string,
  open: () => Promise<{ location: DatabaseLocation; drop(): Promise<void> }>,
) {
  describe(`settlement store on ${name}`, () => {
    let store: Store;
    let drop: () => Promise<void>;

    beforeAll(async () => {
      const opened = await open();
      drop = opened.drop;
      store = await openStore(opened.location);
    });
    afterAll(async () => {
      await store?.close();
      await drop?.();
    });

    async function pendingProposal() {
      const merchant = await insertMerchant(store);
      const proposal = newProposal(merchant, { coinType: SUI });
      await store.proposals.create(proposal);
      return proposal;
    }

    async function apply(events: SettlementEvent[], checkpoint = 10n) {
      const terms = await store.settlements.termsByIntentHashes(events.map((e) => e.intentHash));
      return store.settlements.applyBatch({
        cursorName: 'test',
        checkpoint,
        checkpointTimestamp: new Date('2026-11-27T12:00:00.000Z'),
        decisions: events.map((event) => verifySettlement(event, terms.get(event.intentHash))),
        now: new Date(),
      });
    }

    it('settles a pending proposal once, however often the event is applied', async () => {
      const proposal = await pendingProposal();
      const event = eventFor(proposal);
      const first = await apply([event]);
      const replay = await apply([event]);
      expect(first.settled).toMatchObject([
        { transactionId: proposal.transactionId, status: 'settled', version: 2, late: false },
      ]);
      expect(first.settled[0]?.suiTxDigest).toBe(event.txDigest);
      expect(first.settled[0]?.settledAt?.toISOString()).toBe('2026-11-27T12:00:00.000Z');
      expect(replay.settled).toEqual([]);
      const rows = await store.database.db
        .select()
        .from(statusEvents)
        .where(eq(statusEvents.transactionId, proposal.transactionId));
      expect(rows.map((row) => row.event).sort()).toEqual(['created', 'settled']);
    });

    it('reads settled and late proposals alike one at a time and in a batch', async () => {
      const settled = await pendingProposal();
      const late = await pendingProposal();
      await store.proposals.cancel(late.transactionId, late.merchantId, new Date());
      const at = new Date('2026-11-27T12:34:56.789Z');
      await apply(
        [eventFor(settled), eventFor(late)].map((e) => ({ ...e, checkpointTimestamp: at })),
      );

      const ids = [settled.transactionId, late.transactionId];
      const one = await Promise.all(ids.map((id) => store.proposals.state(id)));
      const batch = await store.proposals.states(ids);
      const byId = new Map(batch.map((state) => [state.transactionId, state]));
      expect(ids.map((id) => byId.get(id))).toEqual(one);
      expect(one).toMatchObject([
        { status: 'settled', version: 2, late: false, settledAt: at },
        { status: 'settled', version: 3, late: true, settledAt: at },
      ]);
    });

    /** Brings a fresh proposal into `status` through the store's own transitions. */
    async function proposalIn(status: TransactionStatus) {
      const proposal = await pendingProposal();
      if (status !== 'pending') await applyEvent(proposal, TO_REACH[status]);
      return proposal;
    }

    async function applyEvent(proposal: NewProposal, event: TransitionEvent): Promise<void> {
      if (event === 'settle') await apply([eventFor(proposal)]);
      if (event === 'cancel') {
        await store.proposals.cancel(proposal.transactionId, proposal.merchantId, new Date());
      }
      if (event === 'expire') {
        await store.database.db
          .update(proposals)
          .set({ expiresAt: new Date(Date.now() - 1000) })
          .where(eq(proposals.transactionId, proposal.transactionId));
        await store.proposals.expireDue(new Date(), 1000);
      }
    }

    const cells = (Object.keys(TRANSITIONS) as TransactionStatus[]).flatMap((status) =>
      (Object.keys(TRANSITIONS[status]) as TransitionEvent[]).map(
        (event) => [status, event, TRANSITIONS[status][event]] as const,
      ),
    );

    it.each(cells)(
      'from %s, event %s, does what the transition table says',
      async (status, event, outcome) => {
        const proposal = await proposalIn(status);
        const before = await store.proposals.state(proposal.transactionId);
        await applyEvent(proposal, event);
        const after = await store.proposals.state(proposal.transactionId);
        if (outcome.next === 'unchanged') {
          expect(after).toEqual(before);
        } else {
          expect(after).toMatchObject({
            status: outcome.next,
            version: (before?.version ?? 0) + 1,
          });
          if (outcome.late !== undefined) expect(after?.late).toBe(outcome.late);
        }
      },
    );

    it('records an underpayment, a wrong recipient, a wrong coin and an unknown intent once each', async () => {
      const underpaid = await pendingProposal();
      const wrongRecipient = await pendingProposal();
      const wrongCoin = await pendingProposal();
      const events = [
        eventFor(underpaid, {
          credited: [{ coinType: SUI, amount: underpaid.amountBaseUnits - 1n }],
        }),
        eventFor(wrongRecipient, { merchant: `0x${'77'.repeat(32)}` }),
        eventFor(wrongCoin, {
          credited: [{ coinType: `0x${'0'.repeat(62)}99::usdc::USDC`, amount: 10n ** 12n }],
        }),
        eventFor({
          intentHash: 'ff'.repeat(32),
          merchantSuiAddress: `0x${'11'.repeat(32)}`,
          amountBaseUnits: 1n,
        }),
      ];
      const first = await apply(events);
      const replay = await apply(events);
      expect(first.settled).toEqual([]);
      expect(first.anomalies.map((a) => a.reason)).toEqual([
        'underpaid',
        'wrong_recipient',
        'wrong_coin',
        'unknown_intent',
      ]);
      expect(replay.anomalies).toEqual([]);
      for (const proposal of [underpaid, wrongRecipient, wrongCoin]) {
        expect((await store.proposals.state(proposal.transactionId))?.status).toBe('pending');
      }
      const digests = events.map((e) => e.txDigest);
      const rows = await store.database.db.select().from(settlementAnomalies);
      expect(rows.filter((row) => digests.includes(row.suiTxDigest))).toHaveLength(4);
    });

    it('settles an overpayment and records the amount received', async () => {
      const proposal = await pendingProposal();
      const paid = proposal.amountBaseUnits * 2n;
      const { settled } = await apply([
        eventFor(proposal, { credited: [{ coinType: SUI, amount: paid }] }),
      ]);
      expect(settled).toHaveLength(1);
      const terms = await store.database.db.execute(
        `select amount_received_base_units::text as received from proposals where transaction_id = '${proposal.transactionId}'`,
      );
      expect(JSON.stringify(terms)).toContain(paid.toString());
    });

    it('never moves the cursor backwards', async () => {
      await apply([], 50n);
      await apply([], 40n);
      expect((await store.settlements.cursor('test'))?.checkpoint).toBe(50n);
    });
  });
}

settlementSuite('PGlite', async () => ({
  location: { kind: 'pglite', dataDir: undefined },
  drop: async () => {},
}));

describe.skipIf(!pg.available)('with Postgres', () => {
  settlementSuite('Postgres', async () => {
    const database = await pg.createDatabase();
    return { location: { kind: 'postgres', url: database.url }, drop: () => database.drop() };
  });
});
