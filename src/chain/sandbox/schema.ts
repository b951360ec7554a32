import { buildSchema, GraphQLError } from 'graphql';

/**
 * A faithful subset of Sui's GraphQL RPC schema (crates/sui-indexer-alt-graphql/schema.graphql):
 * every type, field, argument and nullability below is spelled as in Sui's schema, fields the
 * sandbox cannot serve are left out rather than invented. What the GraphQL chain source sends
 * must validate against this and against the real schema alike.
 */
export const SANDBOX_SDL = /* GraphQL */ `
  "String containing Base64-encoded binary data."
  scalar Base64
  "String representation of an arbitrary width, possibly signed integer"
  scalar BigInt
  "ISO-8601 Date and Time: RFC3339 in UTC with format: YYYY-MM-DDTHH:MM:SS.mmmZ."
  scalar DateTime
  "String containing 32 byte hex-encoded address, with a leading '0x'."
  scalar SuiAddress
  "An unsigned integer that can hold values up to 2^53 - 1."
  scalar UInt53

  type Query {
    "First four bytes of the network's genesis checkpoint digest (uniquely identifies the network), hex-encoded."
    chainIdentifier: String!
    checkpoint(sequenceNumber: UInt53): Checkpoint
    events(
      first: Int
      after: String
      last: Int
      before: String
      filter: EventFilter
    ): EventConnection
    transaction(digest: String!): Transaction
    transactionEffects(digest: String!): TransactionEffects
    serviceConfig: ServiceConfig!
  }

  type Address {
    address: SuiAddress!
  }

  type AvailableRange {
    first: Checkpoint
    last: Checkpoint
  }

  type BalanceChange {
    amount: BigInt
    coinType: MoveType
    owner: Address
  }

  type BalanceChangeConnection {
    edges: [BalanceChangeEdge!]!
    nodes: [BalanceChange!]!
    pageInfo: PageInfo!
  }

  type BalanceChangeEdge {
    cursor: String!
    node: BalanceChange!
  }

  type Checkpoint {
    digest: String
    sequenceNumber: UInt53!
    timestamp: DateTime
  }

  type Event {
    contents: MoveValue
    sender: Address
    sequenceNumber: UInt53!
    timestamp: DateTime
    transaction: Transaction
  }

  type EventConnection {
    edges: [EventEdge!]!
    nodes: [Event!]!
    pageInfo: PageInfo!
  }

  type EventEdge {
    cursor: String!
    node: Event!
  }

  input EventFilter {
    afterCheckpoint: UInt53
    atCheckpoint: UInt53
    beforeCheckpoint: UInt53
    module: String
    sender: SuiAddress
    type: String
  }

  enum ExecutionStatus {
    SUCCESS
    FAILURE
  }

  type MoveType {
    repr: String!
  }

  type MoveValue {
    bcs: Base64
    type: MoveType
  }

  type PageInfo {
    endCursor: String
    hasNextPage: Boolean!
    hasPreviousPage: Boolean!
    startCursor: String
  }

  type ServiceConfig {
    availableRange(type: String!, field: String, filters: [String!]): AvailableRange!
    defaultPageSize(type: String!, field: String!): Int
    maxPageSize(type: String!, field: String!): Int
  }

  type Transaction {
    digest: String!
    effects: TransactionEffects
    sender: Address
  }

  type TransactionEffects {
    balanceChanges(first: Int, after: String, last: Int, before: String): BalanceChangeConnection
    checkpoint: Checkpoint
    digest: String!
    status: ExecutionStatus
    timestamp: DateTime
    transaction: Transaction
  }

  schema {
    query: Query
  }
`;

export const sandboxSchema = buildSchema(SANDBOX_SDL);

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 50;

export interface PageArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

export interface Connection<T> {
  edges: { cursor: string; node: T }[];
  nodes: T[];
  pageInfo: {
    startCursor: string | null;
    endCursor: string | null;
    hasNextPage: boolean;
    hasPreviousPage: boolean;
  };
}

/** Relay-style pagination as Sui does it: opaque cursors, `first` xor `last`, a page size cap. */
export function paginate<T>(
  items: readonly T[],
  positionOf: (item: T) => number,
  args: PageArgs,
): Connection<T> {
  if (args.first != null && args.last != null) {
    throw new GraphQLError("'first' and 'last' must not be used together");
  }
  const size = args.first ?? args.last ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(size) || size < 0 || size > MAX_PAGE_SIZE) {
    throw new GraphQLError(`Page size must be between 0 and ${MAX_PAGE_SIZE}`);
  }
  const after = args.after == null ? undefined : decodeCursor(args.after);
  const before = args.before == null ? undefined : decodeCursor(args.before);
  let start = 0;
  let end = items.length;
  while (start < end && after !== undefined && positionOf(items[start] as T) <= after) start++;
  while (end > start && before !== undefined && positionOf(items[end - 1] as T) >= before) end--;
  const fromEnd = args.last != null;
  const pageStart = fromEnd ? Math.max(start, end - size) : start;
  const pageEnd = fromEnd ? end : Math.min(end, start + size);
  const nodes = items.slice(pageStart, pageEnd);
  const edges = nodes.map((node) => ({ cursor: encodeCursor(positionOf(node)), node }));
  return {
    edges,
    nodes,
    pageInfo: {
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
      // Within the window that `after`/`before` leave open, as Sui reports them.
      hasNextPage: pageEnd < end,
      hasPreviousPage: pageStart > start,
    },
  };
}

function encodeCursor(position: number): string {
  return Buffer.from(JSON.stringify({ p: position })).toString('base64url');
}

function decodeCursor(cursor: string): number {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { p?: unknown };
    if (typeof parsed.p === 'number' && Number.isSafeInteger(parsed.p)) return parsed.p;
  } catch {
    // fall through to the error below
  }
  throw new GraphQLError(`Invalid cursor: ${cursor}`);
}

/** UInt53 arrives as a JSON number (or a numeric literal); anything else is a client error. */
export function uint53(value: unknown, name: string): bigint | undefined {
  if (value === null || value === undefined) return undefined;
  const number = typeof value === 'string' && /^[0-9]+$/.test(value) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isSafeInteger(number) || number < 0) {
    throw new GraphQLError(`${name} must be an unsigned integer below 2^53`);
  }
  return BigInt(number);
}
