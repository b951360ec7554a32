import { fromBase64 } from '@mysten/sui/utils';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { normaliseTypeTag } from '../sui/coin-type.js';
import { normaliseChainIdentifier } from './chain-identifier.js';
import { ChainProtocolError, HistoryPrunedError } from './errors.js';
import {
  fetchTransport,
  GraphqlRequestError,
  httpTransport,
  postGraphql,
  type GraphqlClientOptions,
} from './graphql-client.js';
import {
  CHAIN_IDENTIFIER_QUERY,
  ChainIdentifierResponse,
  MORE_CHANGES_QUERY,
  MoreChangesResponse,
  PAGE_QUERY,
  PageResponse,
  POLL_QUERY,
  PollResponse,
  RETENTION_QUERY,
  RetentionResponse,
  TIP_QUERY,
  TipResponse,
  type ChangesPage,
  type CheckpointNode,
  type EventNode,
} from './graphql-queries.js';
import {
  abortReason,
  backoffDelay,
  DEFAULT_BACKOFF,
  describeError,
  sleep,
  type BackoffOptions,
} from './retry.js';
import { toSettlementEvent, type RawBalanceChange } from './settlement-event.js';
import type { ChainSource, CheckpointBatch, SettlementEvent } from './types.js';

export interface GraphqlSourceOptions {
  /** The GraphQL endpoint, e.g. https://graphql.mainnet.sui.io/graphql. */
  url: string;
  /** `<package>::settlement::SettlementEvent`. */
  eventType: string;
  logger: Logger;
  /** Requests go through this instead of node:http(s) (tests put faults in it). */
  fetch?: typeof fetch;
  pollIntervalMs?: number;
  requestTimeoutMs?: number;
  /** Events per page; Sui's GraphQL caps pages at 50. */
  pageSize?: number;
  /** Upper bound of one batch while catching up, so that a long outage is read in slices. */
  maxCheckpointsPerBatch?: number;
  backoff?: BackoffOptions;
  random?: () => number;
}

const BALANCE_CHANGES_PAGE = 10;

interface Poll {
  batch: CheckpointBatch | undefined;
  /** The batch stopped at maxCheckpointsPerBatch: more is already waiting, poll again at once. */
  catchingUp: boolean;
}

/**
 * Polls Sui's GraphQL RPC (it has no streaming) at checkpoint cadence. Each poll asks, in one
 * request, for the service's latest checkpoint and the settlement events after the cursor, so a
 * poll without events still moves the batch checkpoint forward.
 */
export class GraphqlChainSource implements ChainSource {
  private readonly client: GraphqlClientOptions;
  private readonly pollIntervalMs: number;
  private readonly pageSize: number;
  private readonly maxCheckpoints: bigint;
  private readonly eventType: string;

  constructor(private readonly options: GraphqlSourceOptions) {
    const timeoutMs = options.requestTimeoutMs ?? 10_000;
    this.client = {
      url: options.url,
      transport: options.fetch
        ? fetchTransport(options.fetch, { timeoutMs })
        : httpTransport({ timeoutMs }),
    };
    this.pollIntervalMs = options.pollIntervalMs ?? 250;
    this.pageSize = options.pageSize ?? 50;
    this.maxCheckpoints = BigInt(options.maxCheckpointsPerBatch ?? 5_000);
    this.eventType = normaliseTypeTag(options.eventType);
  }

  async *batches(
    afterCheckpoint: bigint | undefined,
    signal: AbortSignal,
  ): AsyncIterable<CheckpointBatch> {
    let cursor = afterCheckpoint;
    if (cursor === undefined) {
      const tip = await this.retrying(signal, () => this.tip(signal));
      if (tip === undefined) return;
      // Start at the tip: the tip's own events belong to the first batch.
      cursor = BigInt(tip.sequenceNumber) - 1n;
    } else {
      const start = cursor;
      const checked = await this.retrying(signal, () => this.checkRetention(start, signal));
      if (checked === undefined) return;
    }
    while (!signal.aborted) {
      const from: bigint = cursor;
      const poll: Poll | undefined = await this.retrying(signal, () => this.poll(from, signal));
      if (poll === undefined) return;
      if (poll.batch) {
        yield poll.batch;
        cursor = poll.batch.checkpoint;
      }
      if (!poll.catchingUp && !(await sleep(this.pollIntervalMs, signal))) return;
    }
  }

  async chainIdentifier(signal: AbortSignal): Promise<string> {
    const identifier = await this.retrying(
      signal,
      async () => {
        const response = await this.request(
          CHAIN_IDENTIFIER_QUERY,
          {},
          ChainIdentifierResponse,
          signal,
        );
        return normaliseChainIdentifier(response.chainIdentifier);
      },
      'chain identifier query failed',
    );
    if (identifier === undefined) throw abortReason(signal);
    return identifier;
  }

  /** Runs `attempt` until it succeeds; undefined once `signal` aborts. */
  private async retrying<T>(
    signal: AbortSignal,
    attempt: () => Promise<T>,
    failure = 'chain poll failed',
  ): Promise<T | undefined> {
    for (let failures = 0; !signal.aborted; failures++) {
      try {
        return await attempt();
      } catch (error) {
        if (signal.aborted) return undefined;
        if (error instanceof HistoryPrunedError) throw error;
        const delayMs = backoffDelay(
          failures,
          this.options.backoff ?? DEFAULT_BACKOFF,
          this.options.random,
        );
        const log = error instanceof ChainProtocolError ? 'error' : 'warn';
        this.options.logger[log]({ error: describeError(error), delayMs }, failure);
        if (!(await sleep(delayMs, signal))) return undefined;
      }
    }
    return undefined;
  }

  private async tip(signal: AbortSignal): Promise<CheckpointNode> {
    const { checkpoint } = await this.request(TIP_QUERY, {}, TipResponse, signal);
    if (!checkpoint) throw new ChainProtocolError('The GraphQL service knows no checkpoint');
    return checkpoint;
  }

  /** Fails fast when the events after `cursor` were pruned, instead of returning nothing. */
  private async checkRetention(cursor: bigint, signal: AbortSignal): Promise<true> {
    let lowest: bigint | undefined;
    try {
      const response = await this.request(RETENTION_QUERY, {}, RetentionResponse, signal);
      const first = response.serviceConfig.availableRange.first;
      lowest = first ? BigInt(first.sequenceNumber) : undefined;
    } catch (error) {
      if (!(error instanceof GraphqlRequestError)) throw error;
      // Not every GraphQL deployment answers this query; the poll itself still works.
      this.options.logger.debug({ error: describeError(error) }, 'retention unknown');
    }
    if (lowest !== undefined && cursor + 1n < lowest) {
      throw new HistoryPrunedError(cursor + 1n, lowest);
    }
    return true;
  }

  private filter(cursor: bigint, upTo: bigint): Record<string, unknown> {
    const filter: Record<string, unknown> = {
      type: this.eventType,
      beforeCheckpoint: Number(upTo + 1n),
    };
    if (cursor >= 0n) filter.afterCheckpoint = Number(cursor);
    return filter;
  }

  private async poll(cursor: bigint, signal: AbortSignal): Promise<Poll> {
    const upTo = cursor + this.maxCheckpoints;
    const filter = this.filter(cursor, upTo);
    const variables = { filter, first: this.pageSize, changes: BALANCE_CHANGES_PAGE };
    const first = await this.request(
      POLL_QUERY,
      { ...variables, upTo: Number(upTo) },
      PollResponse,
      signal,
    );
    if (!first.tip || !first.events) throw new ChainProtocolError('Poll answered without data');
    const tip = BigInt(first.tip.sequenceNumber);
    const end = tip < upTo ? first.tip : first.bound;
    if (!end) throw new ChainProtocolError(`Checkpoint ${upTo.toString()} is missing`);
    const endSequence = BigInt(end.sequenceNumber);
    if (endSequence <= cursor) return { batch: undefined, catchingUp: false };

    const nodes: EventNode[] = [...first.events.nodes];
    let page = first.events.pageInfo;
    // Pages are read with the same filter; events past `end` (if the service answered a later
    // page at a newer checkpoint) are dropped below and read again by the next poll.
    while (page.hasNextPage && !this.pastEnd(nodes, endSequence)) {
      if (!page.endCursor) throw new ChainProtocolError('Page without an end cursor');
      const next = await this.request(
        PAGE_QUERY,
        { ...variables, after: page.endCursor },
        PageResponse,
        signal,
      );
      if (!next.events) throw new ChainProtocolError('Page answered without data');
      nodes.push(...next.events.nodes);
      page = next.events.pageInfo;
    }

    const events: SettlementEvent[] = [];
    for (const node of nodes) {
      const event = await this.toEvent(node, cursor, endSequence, signal);
      if (event) events.push(event);
    }
    return {
      batch: {
        checkpoint: endSequence,
        checkpointTimestamp: parseTimestamp(end),
        events,
        tipCheckpoint: tip,
      },
      catchingUp: endSequence === upTo && endSequence < tip,
    };
  }

  private pastEnd(nodes: EventNode[], end: bigint): boolean {
    const last = nodes.at(-1)?.transaction?.effects?.checkpoint;
    return last !== null && last !== undefined && BigInt(last.sequenceNumber) > end;
  }

  private async toEvent(
    node: EventNode,
    cursor: bigint,
    end: bigint,
    signal: AbortSignal,
  ): Promise<SettlementEvent | undefined> {
    const repr = node.contents?.type?.repr;
    if (!repr || normaliseTypeTag(repr) !== this.eventType) return undefined;
    const transaction = node.transaction;
    const checkpoint = transaction?.effects?.checkpoint;
    const bcs = node.contents?.bcs;
    if (!transaction || !checkpoint || !bcs) {
      throw new ChainProtocolError('Settlement event without its transaction or checkpoint');
    }
    const sequence = BigInt(checkpoint.sequenceNumber);
    if (sequence <= cursor || sequence > end) return undefined;
    const changes = await this.allChanges(
      transaction.digest,
      transaction.effects?.balanceChanges,
      signal,
    );
    try {
      return toSettlementEvent(fromBase64(bcs), {
        txDigest: transaction.digest,
        eventIndex: node.sequenceNumber,
        checkpoint: sequence,
        checkpointTimestamp: parseTimestamp(checkpoint),
        balanceChanges: changes,
      });
    } catch (error) {
      // Retried (and logged as an error) rather than skipped: skipping would lose a payment.
      throw new ChainProtocolError(`Undecodable settlement event: ${describeError(error)}`);
    }
  }

  private async allChanges(
    digest: string,
    first: ChangesPage | null | undefined,
    signal: AbortSignal,
  ): Promise<RawBalanceChange[]> {
    if (!first) throw new ChainProtocolError('Transaction without balance changes');
    const result: RawBalanceChange[] = [];
    let page: ChangesPage = first;
    for (;;) {
      for (const change of page.nodes) {
        if (!change.owner || !change.coinType || change.amount === null) continue;
        result.push({
          owner: change.owner.address,
          coinType: change.coinType.repr,
          amount: BigInt(change.amount),
        });
      }
      if (!page.pageInfo.hasNextPage) return result;
      if (!page.pageInfo.endCursor) throw new ChainProtocolError('Page without an end cursor');
      const more = await this.request(
        MORE_CHANGES_QUERY,
        { digest, first: BALANCE_CHANGES_PAGE, after: page.pageInfo.endCursor },
        MoreChangesResponse,
        signal,
      );
      const next = more.transactionEffects?.balanceChanges;
      if (!next) throw new ChainProtocolError('Balance changes vanished while paging');
      page = next;
    }
  }

  private request<S extends z.ZodType>(
    query: string,
    variables: Record<string, unknown>,
    schema: S,
    signal: AbortSignal,
  ): Promise<z.infer<S>> {
    return postGraphql(this.client, query, variables, schema, signal);
  }
}

function parseTimestamp(checkpoint: CheckpointNode): Date {
  const date = new Date(checkpoint.timestamp);
  if (Number.isNaN(date.getTime())) throw new ChainProtocolError('Invalid checkpoint timestamp');
  return date;
}

export function createGraphqlChainSource(options: GraphqlSourceOptions): ChainSource {
  return new GraphqlChainSource(options);
}
