import { z } from 'zod';

/**
 * The GraphQL documents the source sends, written against Sui's GraphQL RPC schema
 * (sui-indexer-alt-graphql): `Query.chainIdentifier`, `Query.checkpoint(sequenceNumber)`,
 * `Query.events(first, after,
 * filter: EventFilter { type afterCheckpoint beforeCheckpoint })`, `Event.sequenceNumber` (the
 * event's index in its transaction), `Event.contents: MoveValue { type { repr } bcs }` and
 * `TransactionEffects { checkpoint balanceChanges }`. The sandbox chain serves a subset of that
 * schema, so these documents must stay valid on both.
 */

const CHANGES = /* GraphQL */ `
  fragment Changes on BalanceChangeConnection {
    pageInfo {
      hasNextPage
      endCursor
    }
    nodes {
      owner {
        address
      }
      coinType {
        repr
      }
      amount
    }
  }
`;

const EVENT_PAGE = /* GraphQL */ `
  fragment EventPage on EventConnection {
    pageInfo {
      hasNextPage
      endCursor
    }
    nodes {
      sequenceNumber
      contents {
        type {
          repr
        }
        bcs
      }
      transaction {
        digest
        effects {
          checkpoint {
            sequenceNumber
            timestamp
          }
          balanceChanges(first: $changes) {
            ...Changes
          }
        }
      }
    }
  }
`;

/** One round trip per poll: the tip, the batch's end checkpoint and the first page of events. */
export const POLL_QUERY = /* GraphQL */ `
  query SettlementPoll($filter: EventFilter!, $first: Int!, $changes: Int!, $upTo: UInt53!) {
    tip: checkpoint {
      sequenceNumber
      timestamp
    }
    bound: checkpoint(sequenceNumber: $upTo) {
      sequenceNumber
      timestamp
    }
    events(first: $first, filter: $filter) {
      ...EventPage
    }
  }
  ${EVENT_PAGE}
  ${CHANGES}
`;

export const PAGE_QUERY = /* GraphQL */ `
  query SettlementPage($filter: EventFilter!, $first: Int!, $changes: Int!, $after: String!) {
    events(first: $first, after: $after, filter: $filter) {
      ...EventPage
    }
  }
  ${EVENT_PAGE}
  ${CHANGES}
`;

export const MORE_CHANGES_QUERY = /* GraphQL */ `
  query MoreBalanceChanges($digest: String!, $first: Int!, $after: String!) {
    transactionEffects(digest: $digest) {
      balanceChanges(first: $first, after: $after) {
        ...Changes
      }
    }
  }
  ${CHANGES}
`;

export const TIP_QUERY = /* GraphQL */ `
  query Tip {
    checkpoint {
      sequenceNumber
      timestamp
    }
  }
`;

/** `String!`: the first four bytes of the genesis checkpoint digest, hex-encoded. */
export const CHAIN_IDENTIFIER_QUERY = /* GraphQL */ `
  query ChainIdentifier {
    chainIdentifier
  }
`;

export const RETENTION_QUERY = /* GraphQL */ `
  query EventRetention {
    serviceConfig {
      availableRange(type: "Query", field: "events") {
        first {
          sequenceNumber
        }
      }
    }
  }
`;

const checkpoint = z.object({
  sequenceNumber: z.number().int().nonnegative(),
  timestamp: z.string(),
});
const pageInfo = z.object({ hasNextPage: z.boolean(), endCursor: z.string().nullable() });

const changes = z.object({
  pageInfo,
  nodes: z.array(
    z.object({
      owner: z.object({ address: z.string() }).nullable(),
      coinType: z.object({ repr: z.string() }).nullable(),
      amount: z.string().nullable(),
    }),
  ),
});

const eventPage = z.object({
  pageInfo,
  nodes: z.array(
    z.object({
      sequenceNumber: z.number().int().nonnegative(),
      contents: z
        .object({ type: z.object({ repr: z.string() }).nullable(), bcs: z.string().nullable() })
        .nullable(),
      transaction: z
        .object({
          digest: z.string(),
          effects: z
            .object({ checkpoint: checkpoint.nullable(), balanceChanges: changes.nullable() })
            .nullable(),
        })
        .nullable(),
    }),
  ),
});

export const PollResponse = z.object({
  tip: checkpoint.nullable(),
  bound: checkpoint.nullable(),
  events: eventPage.nullable(),
});
export const PageResponse = z.object({ events: eventPage.nullable() });
export const MoreChangesResponse = z.object({
  transactionEffects: z.object({ balanceChanges: changes.nullable() }).nullable(),
});
export const TipResponse = z.object({ checkpoint: checkpoint.nullable() });
export const ChainIdentifierResponse = z.object({ chainIdentifier: z.string() });
export const RetentionResponse = z.object({
  serviceConfig: z.object({
    availableRange: z.object({ first: z.object({ sequenceNumber: z.number() }).nullable() }),
  }),
});

export type EventNode = z.infer<typeof eventPage>['nodes'][number];
export type ChangesPage = z.infer<typeof changes>;
export type CheckpointNode = z.infer<typeof checkpoint>;
