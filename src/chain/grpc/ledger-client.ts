import { GrpcTypes, SuiGrpcClient, type RpcTransport } from '@mysten/sui/grpc';
import type { ServerStreamingCall } from '@protobuf-ts/runtime-rpc';
import { ChainProtocolError } from '../errors.js';
import type { RawBalanceChange } from '../settlement-event.js';
import { FrameQueue } from './frame-queue.js';

/** Only what the parser needs: no sender, no JSON rendering. */
const EVENT_READ_MASK = {
  paths: ['event_type', 'contents', 'checkpoint', 'transaction_digest', 'event_index'],
};

export interface OpenStream<T extends object> {
  frames: FrameQueue<T>;
  close(): void;
}

/** One ListEvents page of one event type, in ascending order. */
export interface EventPageQuery {
  eventType: string;
  /** Inclusive. */
  startCheckpoint: bigint;
  /** Exclusive. */
  endCheckpoint: bigint;
  limit: number;
  /** The previous page's last watermark cursor. */
  after: Uint8Array | undefined;
}

export interface TransactionFacts {
  checkpoint: bigint;
  timestamp: Date;
  balanceChanges: RawBalanceChange[];
}

/** Kept well under the server's batch limit. */
const BATCH_GET_LIMIT = 50;

/** google.protobuf.Timestamp, which GrpcTypes does not re-export. */
interface Timestamp {
  seconds: bigint;
  nanos: number;
}

/** The calls the gRPC source makes, all through SuiGrpcClient's generated sui.rpc.v2 services. */
export class GrpcLedgerClient {
  private readonly client: SuiGrpcClient;

  constructor(
    transport: RpcTransport,
    network: string,
    private readonly requestTimeoutMs: number,
  ) {
    this.client = new SuiGrpcClient({ network, transport });
  }

  subscribe(eventType: string, signal: AbortSignal): OpenStream<GrpcTypes.SubscribeEventsResponse> {
    return this.open(signal, (abort) =>
      this.client.subscriptionService.subscribeEvents(
        { readMask: EVENT_READ_MASK, filter: eventTypeFilter(eventType) },
        { abort },
      ),
    );
  }

  listEvents(query: EventPageQuery, signal: AbortSignal): OpenStream<GrpcTypes.ListEventsResponse> {
    const request: GrpcTypes.ListEventsRequest = {
      readMask: EVENT_READ_MASK,
      startCheckpoint: query.startCheckpoint,
      endCheckpoint: query.endCheckpoint,
      filter: eventTypeFilter(query.eventType),
      options: { limit: query.limit, after: query.after, ordering: GrpcTypes.Ordering.ASCENDING },
    };
    return this.open(signal, (abort) => this.client.ledgerService.listEvents(request, { abort }));
  }

  /** Checkpoint, its timestamp and balance changes of each transaction, by digest. */
  async transactions(
    digests: string[],
    signal: AbortSignal,
  ): Promise<Map<string, TransactionFacts>> {
    const facts = new Map<string, TransactionFacts>();
    for (let start = 0; start < digests.length; start += BATCH_GET_LIMIT) {
      const chunk = digests.slice(start, start + BATCH_GET_LIMIT);
      for (const [digest, fact] of await this.transactionChunk(chunk, signal))
        facts.set(digest, fact);
    }
    return facts;
  }

  private async transactionChunk(
    digests: string[],
    signal: AbortSignal,
  ): Promise<Map<string, TransactionFacts>> {
    const call = this.client.ledgerService.batchGetTransactions(
      { digests, readMask: { paths: ['digest', 'checkpoint', 'timestamp', 'balance_changes'] } },
      { abort: this.deadline(signal) },
    );
    const { transactions } = await call.response;
    const facts = new Map<string, TransactionFacts>();
    for (const [index, result] of transactions.entries()) {
      if (result.result.oneofKind !== 'transaction') {
        throw new ChainProtocolError(`Transaction ${digests[index] ?? '?'} could not be read`);
      }
      const transaction = result.result.transaction;
      if (!transaction.digest || transaction.checkpoint === undefined || !transaction.timestamp) {
        throw new ChainProtocolError('Transaction without digest, checkpoint or timestamp');
      }
      facts.set(transaction.digest, {
        checkpoint: transaction.checkpoint,
        timestamp: toDate(transaction.timestamp),
        balanceChanges: transaction.balanceChanges.flatMap((change) =>
          change.address && change.coinType && change.amount
            ? [{ owner: change.address, coinType: change.coinType, amount: BigInt(change.amount) }]
            : [],
        ),
      });
    }
    return facts;
  }

  async checkpointTimestamp(sequence: bigint, signal: AbortSignal): Promise<Date> {
    const call = this.client.ledgerService.getCheckpoint(
      {
        checkpointId: { oneofKind: 'sequenceNumber', sequenceNumber: sequence },
        readMask: { paths: ['sequence_number', 'summary.timestamp'] },
      },
      { abort: this.deadline(signal) },
    );
    const { checkpoint } = await call.response;
    const timestamp = checkpoint?.summary?.timestamp;
    if (!timestamp)
      throw new ChainProtocolError(`Checkpoint ${sequence.toString()} without timestamp`);
    return toDate(timestamp);
  }

  /** GetServiceInfo's `chain_id`: the Base58 digest of the chain's genesis checkpoint. */
  async chainId(signal: AbortSignal): Promise<string> {
    const call = this.client.ledgerService.getServiceInfo({}, { abort: this.deadline(signal) });
    const { chainId } = await call.response;
    if (!chainId) throw new ChainProtocolError('GetServiceInfo answered without chain_id');
    return chainId;
  }

  /** Best effort, for the pruning message only. */
  async lowestAvailableCheckpoint(signal: AbortSignal): Promise<bigint | undefined> {
    try {
      const call = this.client.ledgerService.getServiceInfo({}, { abort: this.deadline(signal) });
      return (await call.response).lowestAvailableCheckpoint;
    } catch {
      return undefined;
    }
  }

  /** A stream with its own abort, so closing one never cancels the caller's signal. */
  private open<O extends object>(
    signal: AbortSignal,
    start: (abort: AbortSignal) => ServerStreamingCall<object, O>,
  ): OpenStream<O> {
    const controller = new AbortController();
    const abort = () => controller.abort();
    signal.addEventListener('abort', abort, { once: true });
    const call = start(controller.signal);
    return {
      frames: new FrameQueue(call.responses),
      close() {
        signal.removeEventListener('abort', abort);
        controller.abort();
      },
    };
  }

  private deadline(signal: AbortSignal): AbortSignal {
    return AbortSignal.any([signal, AbortSignal.timeout(this.requestTimeoutMs)]);
  }
}

/** A filter matching exactly one event type (DNF: one term with one literal). */
function eventTypeFilter(eventType: string): GrpcTypes.EventFilter {
  return {
    terms: [
      {
        literals: [
          { negated: false, predicate: { oneofKind: 'eventType', eventType: { eventType } } },
        ],
      },
    ],
  };
}

function toDate(timestamp: Timestamp): Date {
  return new Date(Number(timestamp.seconds) * 1000 + Math.floor(timestamp.nanos / 1_000_000));
}
