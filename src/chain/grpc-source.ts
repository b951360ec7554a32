import { GrpcTypes, RpcError, type RpcTransport } from '@mysten/sui/grpc';
import type { Logger } from 'pino';
import { normaliseTypeTag } from '../sui/coin-type.js';
import { normaliseChainIdentifier } from './chain-identifier.js';
import { ChainProtocolError, ChainSourceUnsupportedError, HistoryPrunedError } from './errors.js';
import type { FrameQueue } from './grpc/frame-queue.js';
import { GrpcLedgerClient } from './grpc/ledger-client.js';
import {
  abortReason,
  backoffDelay,
  DEFAULT_BACKOFF,
  describeError,
  sleep,
  type BackoffOptions,
} from './retry.js';
import { toSettlementEvent } from './settlement-event.js';
import type { ChainSource, CheckpointBatch, SettlementEvent } from './types.js';

export { ChainSourceUnsupportedError, HistoryPrunedError } from './errors.js';

const { QueryEndReason } = GrpcTypes;
type QueryEndReason = GrpcTypes.QueryEndReason;
type Event = GrpcTypes.Event;
type SubscribeEventsResponse = GrpcTypes.SubscribeEventsResponse;

/*
 * Hand-over between history and live events (a subscription starts at the tip, cannot resume):
 *
 *   open SubscribeEvents ──► buffer frames ──► first frame fixes H (its event's checkpoint, or
 *        │                                      its watermark)
 *        ▼
 *   ListEvents (cursor, H] page by page ──► batches ──► cursor = H
 *        ▼
 *   drain the buffer, then live frames ──► batch whenever the watermark passes the cursor
 *
 * Events at or below the cursor are dropped and pending events are keyed by (digest, index), so
 * the overlap at H and repeated frames are yielded once. Any stream error or idle stream restarts
 * the whole cycle from the cursor after a capped, jittered backoff.
 */

export interface GrpcSourceOptions {
  transport: RpcTransport;
  /** Passed to SuiGrpcClient; informational. */
  network?: string;
  eventType: string;
  logger: Logger;
  /** ListEvents page size (the server caps it). */
  pageSize?: number;
  /** A stream with no frame for this long is treated as reset. */
  idleTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Minimum spacing of batches that carry no events (each costs a GetCheckpoint call). */
  progressIntervalMs?: number;
  /** Wait before asking again when the event index has not reached the hand-over point. */
  indexLagRetryMs?: number;
  backoff?: BackoffOptions;
  random?: () => number;
}

interface RawEvent {
  key: string;
  digest: string;
  eventIndex: number;
  checkpoint: bigint;
  bcs: Uint8Array;
}

interface State {
  cursor: bigint | undefined;
  lastBatchAt: number;
}

type Pending = Map<string, RawEvent>;

export class GrpcChainSource implements ChainSource {
  private readonly ledger: GrpcLedgerClient;
  private readonly eventType: string;
  private readonly idleTimeoutMs: number;

  constructor(private readonly options: GrpcSourceOptions) {
    this.eventType = normaliseTypeTag(options.eventType);
    this.idleTimeoutMs = options.idleTimeoutMs ?? 20_000;
    this.ledger = new GrpcLedgerClient(
      options.transport,
      options.network ?? 'mainnet',
      options.requestTimeoutMs ?? 10_000,
    );
  }

  async *batches(
    afterCheckpoint: bigint | undefined,
    signal: AbortSignal,
  ): AsyncIterable<CheckpointBatch> {
    const state: State = { cursor: afterCheckpoint, lastBatchAt: 0 };
    for (let failures = 0; !signal.aborted;) {
      const subscription = this.ledger.subscribe(this.eventType, signal);
      try {
        for await (const batch of this.session(state, subscription.frames, signal)) {
          failures = 0;
          yield batch;
        }
        if (signal.aborted) return;
        throw new ChainProtocolError('The event subscription ended');
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof HistoryPrunedError) throw error;
        throwIfUnimplemented(error, 'an event RPC', 'ListEvents/SubscribeEvents');
        const delayMs = backoffDelay(
          failures++,
          this.options.backoff ?? DEFAULT_BACKOFF,
          this.options.random,
        );
        this.options.logger.warn({ error: describeError(error), delayMs }, 'chain stream restarts');
        if (!(await sleep(delayMs, signal))) return;
      } finally {
        subscription.close();
      }
    }
  }

  async chainIdentifier(signal: AbortSignal): Promise<string> {
    for (let failures = 0; !signal.aborted; failures++) {
      try {
        return normaliseChainIdentifier(await this.ledger.chainId(signal));
      } catch (error) {
        if (signal.aborted) break;
        throwIfUnimplemented(error, 'GetServiceInfo', 'GetServiceInfo');
        const delayMs = backoffDelay(
          failures,
          this.options.backoff ?? DEFAULT_BACKOFF,
          this.options.random,
        );
        const log = error instanceof ChainProtocolError ? 'error' : 'warn';
        this.options.logger[log](
          { error: describeError(error), delayMs },
          'chain identifier query failed',
        );
        if (!(await sleep(delayMs, signal))) break;
      }
    }
    throw abortReason(signal);
  }

  private async *session(
    state: State,
    frames: FrameQueue<SubscribeEventsResponse>,
    signal: AbortSignal,
  ): AsyncGenerator<CheckpointBatch> {
    const early: SubscribeEventsResponse[] = [];
    let handover: bigint | undefined;
    while (handover === undefined) {
      const frame = await frames.next(this.idleTimeoutMs);
      if (!frame) return;
      early.push(frame);
      handover = frame.event?.checkpoint ?? frame.watermark?.checkpoint;
      // Starting at the tip needs no history: the first event's checkpoint is the first one in,
      // a first watermark is already behind us.
      if (handover !== undefined && state.cursor === undefined) {
        state.cursor = frame.event ? handover - 1n : handover;
        handover = state.cursor;
      }
    }
    const start = state.cursor ?? handover;
    if (start < handover) yield* this.backfill(state, start, handover, signal);

    const pending: Pending = new Map();
    let covered = state.cursor ?? handover;
    const absorb = (frame: SubscribeEventsResponse) => {
      if (frame.event) this.add(pending, frame.event, state.cursor);
      const watermark = frame.watermark?.checkpoint;
      if (watermark !== undefined && watermark > covered) covered = watermark;
    };
    early.forEach(absorb);
    for (;;) {
      // Take everything that already arrived before deciding on a batch: fewer, larger batches.
      for (let ready = frames.take(); ready; ready = frames.take()) absorb(ready);
      if (
        state.cursor !== undefined &&
        covered > state.cursor &&
        this.due(pending, covered, state)
      ) {
        yield await this.batch(state, pending, covered, signal);
      }
      const frame = await frames.next(this.idleTimeoutMs);
      if (!frame) return;
      absorb(frame);
    }
  }

  /** History from `start` (exclusive) through `handover` (inclusive), page by page. */
  private async *backfill(
    state: State,
    start: bigint,
    handover: bigint,
    signal: AbortSignal,
  ): AsyncGenerator<CheckpointBatch> {
    const pending: Pending = new Map();
    let after: Uint8Array | undefined;
    while (state.cursor === undefined || state.cursor < handover) {
      const page = await this.readPage(start + 1n, handover + 1n, after, pending, state, signal);
      const covered = page.reason === QueryEndReason.CHECKPOINT_BOUND ? handover : page.covered;
      if (covered !== undefined && (state.cursor === undefined || covered > state.cursor)) {
        yield await this.batch(state, pending, covered, signal);
      }
      if (state.cursor !== undefined && state.cursor >= handover) return;
      if (page.reason === QueryEndReason.ITEM_LIMIT || page.reason === QueryEndReason.SCAN_LIMIT) {
        // A page may scan without finding anything (SCAN_LIMIT): continue from its cursor.
        if (!page.cursor || sameBytes(page.cursor, after)) {
          throw new ChainProtocolError('ListEvents stopped without advancing its cursor');
        }
        after = page.cursor;
      } else if (page.reason === QueryEndReason.LEDGER_TIP) {
        // The event index lags the subscription: ask again shortly from where it stopped.
        after = page.cursor ?? after;
        if (!(await sleep(this.options.indexLagRetryMs ?? 250, signal))) return;
      } else {
        throw new ChainProtocolError(`ListEvents ended with ${QueryEndReason[page.reason]}`);
      }
    }
  }

  private async readPage(
    startCheckpoint: bigint,
    endCheckpoint: bigint,
    after: Uint8Array | undefined,
    pending: Pending,
    state: State,
    signal: AbortSignal,
  ): Promise<{ reason: QueryEndReason; cursor?: Uint8Array; covered?: bigint }> {
    const stream = this.ledger.listEvents(
      {
        eventType: this.eventType,
        startCheckpoint,
        endCheckpoint,
        limit: this.options.pageSize ?? 1000,
        after,
      },
      signal,
    );
    const page: { reason?: QueryEndReason; cursor?: Uint8Array; covered?: bigint } = {};
    try {
      for (let frame = await stream.frames.next(this.idleTimeoutMs); frame;) {
        if (frame.event) this.add(pending, frame.event, state.cursor);
        if (frame.watermark?.cursor?.length) page.cursor = frame.watermark.cursor;
        if (frame.watermark?.checkpoint !== undefined) page.covered = frame.watermark.checkpoint;
        if (frame.end) page.reason = frame.end.reason ?? QueryEndReason.UNKNOWN;
        frame = await stream.frames.next(this.idleTimeoutMs);
      }
    } catch (error) {
      if (
        error instanceof RpcError &&
        (error.code === 'NOT_FOUND' || error.code === 'OUT_OF_RANGE')
      ) {
        const lowest = await this.ledger.lowestAvailableCheckpoint(signal);
        throw new HistoryPrunedError(startCheckpoint, lowest, `${error.code}: ${error.message}`);
      }
      throw error;
    } finally {
      stream.close();
    }
    if (page.reason === undefined)
      throw new ChainProtocolError('ListEvents ended without QueryEnd');
    return { ...page, reason: page.reason };
  }

  private add(pending: Pending, event: Event, cursor: bigint | undefined): void {
    const { checkpoint, transactionDigest: digest, eventIndex } = event;
    const bcs = event.contents?.value;
    if (checkpoint === undefined || !digest || eventIndex === undefined || !bcs) {
      throw new ChainProtocolError('Event frame without checkpoint, digest, index or contents');
    }
    if (event.eventType && normaliseTypeTag(event.eventType) !== this.eventType) return;
    if (cursor !== undefined && checkpoint <= cursor) return;
    const key = `${digest}:${eventIndex}`;
    if (!pending.has(key)) pending.set(key, { key, digest, eventIndex, checkpoint, bcs });
  }

  private due(pending: Pending, covered: bigint, state: State): boolean {
    for (const event of pending.values()) if (event.checkpoint <= covered) return true;
    return Date.now() - state.lastBatchAt >= (this.options.progressIntervalMs ?? 1_000);
  }

  /** Events through `covered`, enriched with balance changes and checkpoint time. */
  private async batch(
    state: State,
    pending: Pending,
    covered: bigint,
    signal: AbortSignal,
  ): Promise<CheckpointBatch> {
    const ready = [...pending.values()]
      .filter((event) => event.checkpoint <= covered)
      .sort((a, b) => (a.checkpoint < b.checkpoint ? -1 : a.checkpoint > b.checkpoint ? 1 : 0));
    const facts = ready.length
      ? await this.ledger.transactions([...new Set(ready.map((event) => event.digest))], signal)
      : new Map();
    const events: SettlementEvent[] = ready.map((event) => {
      const transaction = facts.get(event.digest);
      if (!transaction || transaction.checkpoint !== event.checkpoint) {
        throw new ChainProtocolError('Transaction facts disagree with the event');
      }
      try {
        return toSettlementEvent(event.bcs, {
          txDigest: event.digest,
          eventIndex: event.eventIndex,
          checkpoint: event.checkpoint,
          checkpointTimestamp: transaction.timestamp,
          balanceChanges: transaction.balanceChanges,
        });
      } catch (error) {
        throw new ChainProtocolError(`Undecodable settlement event: ${describeError(error)}`);
      }
    });
    const atCovered = [...facts.values()].find((fact) => fact.checkpoint === covered);
    const checkpointTimestamp =
      atCovered?.timestamp ?? (await this.ledger.checkpointTimestamp(covered, signal));
    for (const event of ready) pending.delete(event.key);
    state.cursor = covered;
    state.lastBatchAt = Date.now();
    return { checkpoint: covered, checkpointTimestamp, events };
  }
}

/** UNIMPLEMENTED cannot pass with a retry: the endpoint lacks the RPC. */
function throwIfUnimplemented(error: unknown, fallbackName: string, rpcs: string): void {
  if (error instanceof RpcError && error.code === 'UNIMPLEMENTED') {
    throw new ChainSourceUnsupportedError(
      `The gRPC endpoint does not implement ${error.methodName ?? fallbackName} ` +
        `(sui.rpc.v2 ${rpcs}); use SUI_CHAIN_SOURCE=graphql or another endpoint`,
    );
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array | undefined): boolean {
  return b !== undefined && a.length === b.length && a.every((byte, i) => byte === b[i]);
}

export function createGrpcChainSource(options: GrpcSourceOptions): ChainSource {
  return new GrpcChainSource(options);
}
