import { randomBytes } from 'node:crypto';
import { fromBase58, toHex } from '@mysten/sui/utils';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BatchReader, serialise } from '../../test/fixtures/chain/batch-reader.js';
import { SANDBOX_PACKAGE_ID } from '../config/index.js';
import { normaliseCoinType } from '../sui/coin-type.js';
import { HistoryPrunedError } from './errors.js';
import { createGraphqlChainSource, type GraphqlSourceOptions } from './graphql-source.js';
import { startSandboxChain, type SandboxChain } from './sandbox/index.js';
import { settlementEventType } from './settlement-event.js';

const USDC = '0xdba34672e30cb065b1f93e3ab55318768fd6fef66c15942c9f7cb846e2f900e7::usdc::USDC';
const MERCHANT = `0x${'1'.repeat(64)}`;
const silent = pino({ level: 'silent' });
const intent = () => randomBytes(32).toString('hex');

/** A chain clock far from the wall clock: a batch carrying today's time would stand out. */
function chainClock(): () => Date {
  let ticks = 0;
  return () => new Date(Date.UTC(2031, 0, 1) + ticks++ * 250);
}

describe('graphql chain source against the sandbox chain', () => {
  let chain: SandboxChain;
  let controller: AbortController;

  beforeEach(async () => {
    controller = new AbortController();
    chain = await startSandboxChain({ checkpointIntervalMs: 20, now: chainClock() });
  });
  afterEach(async () => {
    controller.abort();
    await chain.stop();
  });

  function source(overrides: Partial<GraphqlSourceOptions> = {}) {
    return createGraphqlChainSource({
      url: chain.graphqlUrl,
      eventType: settlementEventType(SANDBOX_PACKAGE_ID),
      logger: silent,
      pollIntervalMs: 10,
      backoff: { initialMs: 5, maxMs: 20 },
      ...overrides,
    });
  }

  function read(after: bigint | undefined, overrides: Partial<GraphqlSourceOptions> = {}) {
    return new BatchReader(source(overrides).batches(after, controller.signal));
  }

  it('yields a payment as a settlement event with the credited amount and checkpoint time', async () => {
    const reader = read(chain.latestCheckpoint());
    const intentHash = intent();
    const receipt = await chain.pay({
      intentHash,
      merchant: MERCHANT,
      amount: 5_000_000n,
      coinType: USDC,
    });

    const batch = await reader.until((b) => b.events.length > 0);
    expect(batch.events).toEqual([
      {
        txDigest: receipt.txDigest,
        eventIndex: 0,
        checkpoint: receipt.checkpoint,
        checkpointTimestamp: expect.any(Date) as Date,
        intentHash,
        merchant: MERCHANT,
        amount: 5_000_000n,
        receiptId: expect.stringMatching(/^0x[0-9a-f]{64}$/) as string,
        warrantyId: null,
        credited: [{ coinType: normaliseCoinType(USDC), amount: 5_000_000n }],
      },
    ]);
    const served = await graphql<{ checkpoint: { timestamp: string } }>(
      chain,
      `{ checkpoint(sequenceNumber: ${receipt.checkpoint}) { timestamp } }`,
    );
    expect(batch.events[0]?.checkpointTimestamp.toISOString()).toBe(served.checkpoint.timestamp);
    expect(batch.events[0]?.checkpointTimestamp.getUTCFullYear()).toBe(2031);
    expect(batch.checkpoint).toBeGreaterThanOrEqual(receipt.checkpoint);
  });

  it('starts at the tip when given no checkpoint', async () => {
    const pay = () =>
      chain.pay({ intentHash: intent(), merchant: MERCHANT, amount: 1n, coinType: USDC });
    const history = await pay();
    // A second payment puts the first one in a checkpoint below the tip.
    const atTip = await pay();
    const reader = read(undefined);

    const first = await reader.until(() => true);
    expect(first.checkpoint).toBeGreaterThanOrEqual(atTip.checkpoint);
    expect(serialise(reader.batches)).not.toContain(history.txDigest);
  });

  it('starts strictly after the given checkpoint', async () => {
    const first = await chain.pay({
      intentHash: intent(),
      merchant: MERCHANT,
      amount: 1n,
      coinType: USDC,
    });
    const second = await chain.pay({
      intentHash: intent(),
      merchant: MERCHANT,
      amount: 2n,
      coinType: USDC,
    });
    const reader = read(first.checkpoint);

    await reader.until((b) => b.events.some((event) => event.txDigest === second.txDigest));
    expect(reader.batches.every((b) => b.checkpoint > first.checkpoint)).toBe(true);
    expect(serialise(reader.batches)).not.toContain(first.txDigest);
  });

  it('advances through empty checkpoints in order', async () => {
    const start = chain.latestCheckpoint();
    const reader = read(start);

    await reader.until((b) => b.checkpoint >= start + 5n);
    const checkpoints = reader.batches.map((b) => b.checkpoint);
    expect(checkpoints).toEqual([...checkpoints].sort((a, b) => (a < b ? -1 : 1)));
    expect(new Set(checkpoints).size).toBe(checkpoints.length);
    expect(reader.batches.every((b) => b.events.length === 0)).toBe(true);
    expect(reader.batches.every((b) => b.checkpointTimestamp.getUTCFullYear() === 2031)).toBe(true);
  });

  it('never yields the buyer stealth address, which the chain itself serves', async () => {
    const buyer = randomBytes(32).toString('hex');
    const reader = read(chain.latestCheckpoint());
    const receipt = await chain.pay({
      intentHash: intent(),
      merchant: MERCHANT,
      amount: 3n,
      coinType: '0x2::sui::SUI',
      buyerStealthAddress: `0x${buyer}`,
    });

    const batch = await reader.until((b) => b.events.length > 0);
    const served = await graphql<{ transaction: { sender: { address: string } } }>(
      chain,
      `{ transaction(digest: "${receipt.txDigest}") { sender { address } } }`,
    );
    expect(served.transaction.sender.address).toBe(`0x${buyer}`);
    const yielded = serialise(reader.batches);
    expect(yielded).toContain(receipt.txDigest);
    expect(yielded).not.toContain(buyer);
    expect(yielded).not.toContain(Buffer.from(buyer, 'hex').toString('base64'));
    expect(batch.events[0]?.credited).toEqual([
      { coinType: normaliseCoinType('0x2::sui::SUI'), amount: 3n },
    ]);
  });

  it('follows pagination when one checkpoint holds more events than a page', async () => {
    const start = chain.latestCheckpoint();
    const receipts = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        chain.pay({
          intentHash: intent(),
          merchant: MERCHANT,
          amount: BigInt(i + 1),
          coinType: USDC,
        }),
      ),
    );
    const last = receipts.reduce((max, r) => (r.checkpoint > max ? r.checkpoint : max), 0n);
    const reader = read(start, { pageSize: 2 });

    await reader.until((b) => b.checkpoint >= last);
    const digests = reader.batches.flatMap((b) => b.events.map((event) => event.txDigest));
    expect(digests.sort()).toEqual(receipts.map((r) => r.txDigest).sort());
  });

  it('reads a long backlog in slices of at most maxCheckpointsPerBatch', async () => {
    const receipt = await chain.pay({
      intentHash: intent(),
      merchant: MERCHANT,
      amount: 1n,
      coinType: USDC,
    });
    const reader = read(0n, { maxCheckpointsPerBatch: 2 });

    await reader.until((b) => b.events.some((event) => event.txDigest === receipt.txDigest));
    let previous = 0n;
    for (const batch of reader.batches) {
      expect(batch.checkpoint - previous).toBeLessThanOrEqual(2n);
      previous = batch.checkpoint;
    }
  });

  it('retries with backoff when the endpoint fails', async () => {
    let failures = 2;
    const flaky: typeof fetch = (input, init) =>
      failures-- > 0 ? Promise.resolve(new Response('busy', { status: 503 })) : fetch(input, init);
    const reader = read(chain.latestCheckpoint(), { fetch: flaky });
    const receipt = await chain.pay({
      intentHash: intent(),
      merchant: MERCHANT,
      amount: 1n,
      coinType: USDC,
    });

    await reader.until((b) => b.events.some((event) => event.txDigest === receipt.txDigest));
    expect(failures).toBeLessThan(0);
  });

  it("reports the chain's identifier, taken from its genesis checkpoint like Sui's", async () => {
    const identifier = await source().chainIdentifier(controller.signal);

    expect(identifier).toBe(chain.chainIdentifier);
    expect(identifier).toMatch(/^[0-9a-f]{8}$/);
    const served = await graphql<{ chainIdentifier: string; checkpoint: { digest: string } }>(
      chain,
      '{ chainIdentifier checkpoint(sequenceNumber: 0) { digest } }',
    );
    expect(served.chainIdentifier).toBe(identifier);
    const genesis = fromBase58(served.checkpoint.digest);
    expect(genesis).toHaveLength(32);
    expect(toHex(genesis.subarray(0, 4))).toBe(identifier);
  });

  it('asks again for the chain identifier after transient failures', async () => {
    let failures = 2;
    const flaky: typeof fetch = (input, init) =>
      failures-- > 0 ? Promise.resolve(new Response('busy', { status: 503 })) : fetch(input, init);

    await expect(source({ fetch: flaky }).chainIdentifier(controller.signal)).resolves.toBe(
      chain.chainIdentifier,
    );
    expect(failures).toBeLessThan(0);
  });

  it('stops asking for the chain identifier when the signal aborts, and rejects', async () => {
    let calls = 0;
    const down: typeof fetch = () => {
      if (++calls >= 2) controller.abort();
      return Promise.resolve(new Response('busy', { status: 503 }));
    };

    await expect(source({ fetch: down }).chainIdentifier(controller.signal)).rejects.toMatchObject({
      name: 'AbortError',
    });
    expect(calls).toBe(2);
  });

  it('stops with HistoryPrunedError when the start lies before the retained range', async () => {
    const pruning: typeof fetch = async (input, init) => {
      if (String(init?.body).includes('EventRetention')) {
        const body = {
          data: { serviceConfig: { availableRange: { first: { sequenceNumber: 100 } } } },
        };
        return new Response(JSON.stringify(body), {
          headers: { 'content-type': 'application/json' },
        });
      }
      return fetch(input, init);
    };
    const reader = read(10n, { fetch: pruning });

    const error = await reader.failed();
    expect(error).toBeInstanceOf(HistoryPrunedError);
    expect((error as HistoryPrunedError).message).toContain('checkpoint 11');
  });
});

async function graphql<T>(chain: SandboxChain, query: string): Promise<T> {
  const response = await fetch(chain.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query }),
  });
  const body = (await response.json()) as { data: unknown; errors?: unknown };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data as T;
}
