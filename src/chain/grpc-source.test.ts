import { GrpcTypes, RpcError } from '@mysten/sui/grpc';
import type { PartialMessage } from '@protobuf-ts/runtime';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BatchReader, serialise } from '../../test/fixtures/chain/batch-reader.js';
import {
  checkpointTime,
  cursorAt,
  endFrame,
  EVENT_TYPE,
  FakeSuiNode,
  MAINNET_CHAIN_ID,
  MERCHANT,
  USDC,
  watermarkFrame,
  type PageFrame,
} from '../../test/fixtures/chain/fake-sui-node.js';
import { normaliseCoinType } from '../sui/coin-type.js';
import {
  ChainSourceUnsupportedError,
  createGrpcChainSource,
  HistoryPrunedError,
  type GrpcSourceOptions,
} from './grpc-source.js';

const { QueryEndReason } = GrpcTypes;
const SUBSCRIBE = 'SubscriptionService/SubscribeEvents';
const LIST = 'LedgerService/ListEvents';

describe('grpc chain source', () => {
  let node: FakeSuiNode;
  let controller: AbortController;

  beforeEach(() => {
    node = new FakeSuiNode();
    controller = new AbortController();
  });
  afterEach(() => controller.abort());

  function source(overrides: Partial<GrpcSourceOptions> = {}) {
    return createGrpcChainSource({
      transport: node.transport,
      eventType: EVENT_TYPE,
      logger: pino({ level: 'silent' }),
      idleTimeoutMs: 2_000,
      progressIntervalMs: 0,
      indexLagRetryMs: 5,
      backoff: { initialMs: 1, maxMs: 5 },
      ...overrides,
    });
  }

  function read(after: bigint | undefined, overrides: Partial<GrpcSourceOptions> = {}) {
    return new BatchReader(source(overrides).batches(after, controller.signal));
  }

  /** Scripts the GetServiceInfo answers, one per call; a function may throw a gRPC error. */
  function serviceInfo(...answers: (() => PartialMessage<GrpcTypes.GetServiceInfoResponse>)[]) {
    node.transport.onUnary('LedgerService/GetServiceInfo', () => {
      const answer = answers.shift();
      if (!answer) throw new RpcError('unscripted answer', 'UNAVAILABLE');
      return answer();
    });
  }
  const serviceInfoRequests = () => node.transport.requestsTo('LedgerService/GetServiceInfo');

  /** Scripts the next ListEvents calls, one list of frames (or a gRPC error code) per call. */
  function listPages(...pages: (PageFrame[] | string)[]) {
    node.transport.onStream(LIST, (stream) => {
      const page = pages.shift();
      if (page === undefined) return stream.fail('UNAVAILABLE', 'unscripted page');
      if (typeof page === 'string') return stream.fail(page);
      page.forEach((frame) => stream.send(frame));
      stream.end();
    });
  }

  const listRequests = () => node.transport.requestsTo(LIST);
  const digestsOf = (reader: BatchReader) =>
    reader.batches.flatMap((batch) => batch.events.map((event) => event.txDigest));

  it('backfills from the saved checkpoint to the subscription start, then follows live events', async () => {
    const early = node.settle(102n);
    const atHandover = node.settle(105n);
    const live = node.settle(107n);
    listPages([
      node.eventFrame(early, 101n),
      node.eventFrame(atHandover, 104n),
      endFrame(QueryEndReason.CHECKPOINT_BOUND, 105n),
    ]);
    const reader = read(100n);
    const subscription = await node.transport.stream(SUBSCRIBE, 0);
    subscription.send(node.eventFrame(atHandover, 104n));

    const backfilled = await reader.until((batch) => batch.checkpoint === 105n);
    expect(backfilled.events.map((event) => event.txDigest)).toEqual([
      early.digest,
      atHandover.digest,
    ]);
    expect(backfilled.checkpointTimestamp).toEqual(checkpointTime(105n));
    expect(listRequests()[0]).toMatchObject({
      startCheckpoint: 101n,
      endCheckpoint: 106n,
      filter: { terms: [{ literals: [{ predicate: { eventType: { eventType: EVENT_TYPE } } }] }] },
      readMask: {
        paths: expect.arrayContaining(['contents', 'checkpoint', 'event_index']) as string[],
      },
    });

    subscription.send(watermarkFrame(106n));
    subscription.send(node.eventFrame(live, 106n));
    subscription.send(watermarkFrame(107n));
    const followed = await reader.until(
      (batch) => batch.events.length > 0 && batch.checkpoint >= 107n,
    );
    expect(followed.events).toEqual([
      expect.objectContaining({
        txDigest: live.digest,
        eventIndex: 0,
        checkpoint: 107n,
        checkpointTimestamp: checkpointTime(107n),
        intentHash: live.intentHash,
        merchant: MERCHANT,
        credited: [{ coinType: normaliseCoinType(USDC), amount: live.amount }],
      }),
    ]);
    expect(digestsOf(reader)).toEqual([early.digest, atHandover.digest, live.digest]);
    expect(serialise(reader.batches)).not.toContain(live.buyer.slice(2));
  });

  it('yields an event once when the stream repeats a frame', async () => {
    const settlement = node.settle(200n);
    const reader = read(undefined);
    const subscription = await node.transport.stream(SUBSCRIBE, 0);
    subscription.send(node.eventFrame(settlement, 199n));
    subscription.send(node.eventFrame(settlement, 199n));
    subscription.send(watermarkFrame(200n));
    subscription.send(node.eventFrame(settlement, 200n));
    subscription.send(watermarkFrame(201n));

    await reader.until((batch) => batch.checkpoint >= 201n);
    expect(digestsOf(reader)).toEqual([settlement.digest]);
    expect(listRequests()).toHaveLength(0);
  });

  it('reconnects after a stream reset and backfills the gap from its cursor', async () => {
    const before = node.settle(101n);
    const duringReset = node.settle(103n);
    listPages([
      node.eventFrame(duringReset, 102n),
      endFrame(QueryEndReason.CHECKPOINT_BOUND, 104n),
    ]);
    const reader = read(100n);
    const first = await node.transport.stream(SUBSCRIBE, 0);
    first.send(watermarkFrame(100n));
    first.send(node.eventFrame(before, 100n));
    first.send(watermarkFrame(101n));
    await reader.until((batch) => batch.checkpoint === 101n);

    first.fail('UNAVAILABLE', 'stream reset by peer');
    const second = await node.transport.stream(SUBSCRIBE, 1);
    second.send(watermarkFrame(104n));

    await reader.until((batch) => batch.checkpoint === 104n);
    expect(listRequests()[0]).toMatchObject({
      startCheckpoint: 102n,
      endCheckpoint: 105n,
    });
    expect(digestsOf(reader)).toEqual([before.digest, duringReset.digest]);
  });

  it('reconnects when the stream sends nothing within the idle timeout', async () => {
    read(100n, { idleTimeoutMs: 50 });
    const silent = await node.transport.stream(SUBSCRIBE, 0);
    const next = await node.transport.stream(SUBSCRIBE, 1);

    expect(silent.aborted).toBe(true);
    expect(next.aborted).toBe(false);
  });

  it('continues past empty SCAN_LIMIT pages from their cursor', async () => {
    const settlement = node.settle(108n);
    const firstCursor = cursorAt(1n);
    const secondCursor = cursorAt(2n);
    listPages(
      [endFrame(QueryEndReason.SCAN_LIMIT, undefined, firstCursor)],
      [endFrame(QueryEndReason.SCAN_LIMIT, 105n, secondCursor)],
      [node.eventFrame(settlement, 107n), endFrame(QueryEndReason.CHECKPOINT_BOUND, 110n)],
    );
    const reader = read(100n);
    (await node.transport.stream(SUBSCRIBE, 0)).send(watermarkFrame(110n));

    await reader.until((batch) => batch.checkpoint === 110n);
    expect(reader.batches.map((batch) => batch.checkpoint)).toEqual([105n, 110n]);
    expect(digestsOf(reader)).toEqual([settlement.digest]);
    const afters = listRequests().map((request) => request.options?.after);
    expect(afters).toEqual([undefined, firstCursor, secondCursor]);
  });

  it('asks again when the event index has not reached the hand-over point yet', async () => {
    listPages(
      [endFrame(QueryEndReason.LEDGER_TIP, 103n, cursorAt(3n))],
      [endFrame(QueryEndReason.CHECKPOINT_BOUND, 105n)],
    );
    const reader = read(100n);
    (await node.transport.stream(SUBSCRIBE, 0)).send(watermarkFrame(105n));

    await reader.until((batch) => batch.checkpoint === 105n);
    expect(reader.batches.map((batch) => batch.checkpoint)).toEqual([103n, 105n]);
  });

  it('stops with ChainSourceUnsupportedError when the node lacks the event RPCs', async () => {
    node.transport.onStream(SUBSCRIBE, (stream) => stream.fail('UNIMPLEMENTED', 'unknown method'));
    const reader = read(100n);

    const error = await reader.failed();
    expect(error).toBeInstanceOf(ChainSourceUnsupportedError);
    expect((error as Error).message).toContain('SUI_CHAIN_SOURCE=graphql');
  });

  it("reports GetServiceInfo's chain id in the short form Sui's GraphQL serves", async () => {
    node.chainId = MAINNET_CHAIN_ID;

    await expect(source().chainIdentifier(controller.signal)).resolves.toBe('35834a8a');
    expect(serviceInfoRequests()).toHaveLength(1);
  });

  it('asks again for the chain id after a transient error or an answer without it', async () => {
    serviceInfo(
      () => {
        throw new RpcError('connection reset', 'UNAVAILABLE');
      },
      () => ({ lowestAvailableCheckpoint: 3n }),
      () => ({ chainId: MAINNET_CHAIN_ID }),
    );

    await expect(source().chainIdentifier(controller.signal)).resolves.toBe('35834a8a');
    expect(serviceInfoRequests()).toHaveLength(3);
  });

  it('stops asking for the chain id when the signal aborts, and rejects', async () => {
    const unavailable = () => {
      if (serviceInfoRequests().length >= 2) controller.abort();
      throw new RpcError('connection reset', 'UNAVAILABLE');
    };
    serviceInfo(unavailable, unavailable, unavailable);

    await expect(source().chainIdentifier(controller.signal)).rejects.toMatchObject({
      name: 'AbortError',
    });
    expect(serviceInfoRequests()).toHaveLength(2);
  });

  it('stops with ChainSourceUnsupportedError when the node lacks GetServiceInfo', async () => {
    serviceInfo(() => {
      throw new RpcError('unknown method', 'UNIMPLEMENTED');
    });

    await expect(source().chainIdentifier(controller.signal)).rejects.toBeInstanceOf(
      ChainSourceUnsupportedError,
    );
  });

  it('stops with HistoryPrunedError when the start checkpoint was pruned', async () => {
    node.lowestAvailableCheckpoint = 900n;
    listPages('NOT_FOUND');
    const reader = read(5n);
    (await node.transport.stream(SUBSCRIBE, 0)).send(watermarkFrame(1_000n));

    const error = await reader.failed();
    expect(error).toBeInstanceOf(HistoryPrunedError);
    expect((error as Error).message).toMatch(/checkpoint 6 .*lowest available: 900/);
    expect(reader.batches).toHaveLength(0);
  });
});
