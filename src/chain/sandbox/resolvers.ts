import { createHash } from 'node:crypto';
import { toBase58, toBase64 } from '@mysten/sui/utils';
import { GraphQLError } from 'graphql';
import { isSuiAddress, normaliseSuiAddress } from '../../sui/address.js';
import { normaliseTypeTag } from '../../sui/coin-type.js';
import type { RawBalanceChange } from '../settlement-event.js';
import type { LedgerTransaction, SandboxLedger } from './ledger.js';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, paginate, uint53, type PageArgs } from './schema.js';

interface EventFilterArgs {
  afterCheckpoint?: unknown;
  atCheckpoint?: unknown;
  beforeCheckpoint?: unknown;
  module?: string | null;
  sender?: string | null;
  type?: string | null;
}

/**
 * Resolvers for one request. Every field sees the chain as of `view`, the latest checkpoint when
 * the request arrived, like Sui's GraphQL service answers a request at one checkpoint.
 */
export function rootValue(ledger: SandboxLedger, eventType: string): Record<string, unknown> {
  const view = ledger.latestCheckpoint();
  const visible = (transaction: LedgerTransaction | undefined) =>
    transaction && transaction.checkpoint <= view ? transaction : undefined;

  const checkpointNode = (sequence: bigint) => {
    const timestampMs = sequence <= view ? ledger.timestampOf(sequence) : undefined;
    if (timestampMs === undefined) return null;
    return {
      sequenceNumber: Number(sequence),
      digest: checkpointDigest(ledger.genesisDigest, sequence),
      timestamp: new Date(timestampMs).toISOString(),
    };
  };

  const address = (value: string) => ({ address: normaliseSuiAddress(value) });

  const balanceChangeNode = (change: RawBalanceChange) => ({
    owner: address(change.owner),
    coinType: { repr: change.coinType },
    amount: change.amount.toString(),
  });

  const effectsNode = (transaction: LedgerTransaction) => ({
    digest: transaction.digest,
    status: 'SUCCESS',
    checkpoint: () => checkpointNode(transaction.checkpoint),
    timestamp: () => checkpointNode(transaction.checkpoint)?.timestamp ?? null,
    transaction: () => transactionNode(transaction),
    balanceChanges: (args: PageArgs) => {
      const connection = paginate(
        transaction.balanceChanges.map((change, index) => ({ change, index })),
        (entry) => entry.index,
        args,
      );
      return {
        pageInfo: connection.pageInfo,
        edges: connection.edges.map((edge) => ({
          cursor: edge.cursor,
          node: balanceChangeNode(edge.node.change),
        })),
        nodes: connection.nodes.map((entry) => balanceChangeNode(entry.change)),
      };
    },
  });

  const transactionNode = (transaction: LedgerTransaction): Record<string, unknown> => ({
    digest: transaction.digest,
    sender: address(transaction.sender),
    effects: () => effectsNode(transaction),
  });

  const eventNode = (transaction: LedgerTransaction) => ({
    // Every sandbox settlement emits exactly one event: its index in the transaction is 0.
    sequenceNumber: 0,
    sender: address(transaction.sender),
    timestamp: () => checkpointNode(transaction.checkpoint)?.timestamp ?? null,
    contents: { type: { repr: eventType }, bcs: toBase64(transaction.eventBcs) },
    transaction: () => transactionNode(transaction),
  });

  return {
    chainIdentifier: ledger.chainIdentifier,
    checkpoint: (args: { sequenceNumber?: unknown }) =>
      checkpointNode(uint53(args.sequenceNumber, 'sequenceNumber') ?? view),
    transaction: (args: { digest: string }) => {
      const transaction = visible(ledger.transaction(args.digest));
      return transaction ? transactionNode(transaction) : null;
    },
    transactionEffects: (args: { digest: string }) => {
      const transaction = visible(ledger.transaction(args.digest));
      return transaction ? effectsNode(transaction) : null;
    },
    events: (args: PageArgs & { filter?: EventFilterArgs | null }) => {
      const matches = eventMatcher(args.filter ?? {}, eventType, view);
      const connection = paginate(
        ledger.transactions.filter(matches),
        (transaction) => transaction.sequence,
        args,
      );
      return {
        pageInfo: connection.pageInfo,
        edges: connection.edges.map((edge) => ({
          cursor: edge.cursor,
          node: eventNode(edge.node),
        })),
        nodes: connection.nodes.map(eventNode),
      };
    },
    serviceConfig: {
      availableRange: () => ({ first: checkpointNode(0n), last: checkpointNode(view) }),
      defaultPageSize: () => DEFAULT_PAGE_SIZE,
      maxPageSize: () => MAX_PAGE_SIZE,
    },
  };
}

/**
 * Checkpoint 0's digest is the genesis digest, the chain identifier's source as on Sui; the others
 * derive from it, so that two sandbox chains never share a checkpoint digest.
 */
function checkpointDigest(genesisDigest: string, sequence: bigint): string {
  if (sequence === 0n) return genesisDigest;
  const hash = createHash('sha256').update(`sandbox-checkpoint:${genesisDigest}:${sequence}`);
  return toBase58(hash.digest());
}

function eventMatcher(
  filter: EventFilterArgs,
  eventType: string,
  view: bigint,
): (transaction: LedgerTransaction) => boolean {
  if (filter.module && filter.type) {
    throw new GraphQLError('Filtering by both emitting module and event type is not supported');
  }
  const after = uint53(filter.afterCheckpoint, 'afterCheckpoint');
  const at = uint53(filter.atCheckpoint, 'atCheckpoint');
  const before = uint53(filter.beforeCheckpoint, 'beforeCheckpoint');
  const typeMatches = filter.type ? typePrefixMatches(filter.type, eventType) : true;
  // The settlement event is emitted by the settlement module of the same package.
  const moduleMatches = filter.module ? typePrefixMatches(filter.module, eventType, 2) : true;
  if (filter.sender && !isSuiAddress(filter.sender)) throw new GraphQLError('Invalid sender');
  const sender = filter.sender ? normaliseSuiAddress(filter.sender) : undefined;
  return (transaction) =>
    typeMatches &&
    moduleMatches &&
    transaction.checkpoint <= view &&
    (after === undefined || transaction.checkpoint > after) &&
    (at === undefined || transaction.checkpoint === at) &&
    (before === undefined || transaction.checkpoint < before) &&
    (sender === undefined || normaliseSuiAddress(transaction.sender) === sender);
}

/** Sui's type filters accept `package`, `package::module` or the full type name. */
function typePrefixMatches(filter: string, eventType: string, maxParts = 3): boolean {
  const parts = filter.trim().split('::');
  if (parts.length === 0 || parts.length > maxParts || !isSuiAddress(parts[0] ?? '')) {
    throw new GraphQLError(`Invalid type filter: ${filter}`);
  }
  const wanted =
    parts.length === 3
      ? normaliseTypeTag(filter)
      : [normaliseSuiAddress(parts[0] ?? ''), ...parts.slice(1)].join('::');
  return parts.length === 3 ? wanted === eventType : eventType.startsWith(`${wanted}::`);
}
