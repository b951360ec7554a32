import type { TransactionStatus } from './index.js';

/**
 * The status × event table of docs/PROTOCOL.md, as data. The store's conditional UPDATEs
 * implement it and the tests walk it, so prose, code and tests cannot drift apart.
 *
 *                 ┌─ settle ───────────────────────────────► settled
 *   created ─► pending ─ cancel ─► cancelled ─ settle ─► settled (late)
 *                 └─ expire ──► expired ─── settle ─────► settled (late)
 */
export type TransitionEvent = 'settle' | 'cancel' | 'expire';

export interface Outcome {
  /** Status afterwards; `unchanged` means nothing is written and nothing is pushed. */
  next: TransactionStatus | 'unchanged';
  /** The message pushed to watching sockets, if any. */
  push?: 'settlement' | 'status';
  late?: boolean;
  /** For merchant requests that are refused: the HTTP status. */
  httpStatus?: number;
}

export const TRANSITIONS: Record<TransactionStatus, Record<TransitionEvent, Outcome>> = {
  pending: {
    settle: { next: 'settled', push: 'settlement', late: false },
    cancel: { next: 'cancelled', push: 'status' },
    expire: { next: 'expired', push: 'status' },
  },
  expired: {
    settle: { next: 'settled', push: 'settlement', late: true },
    cancel: { next: 'unchanged', httpStatus: 409 },
    expire: { next: 'unchanged' },
  },
  cancelled: {
    settle: { next: 'settled', push: 'settlement', late: true },
    cancel: { next: 'unchanged', httpStatus: 409 },
    expire: { next: 'unchanged' },
  },
  settled: {
    // A replayed settlement event: applied exactly once.
    settle: { next: 'unchanged' },
    cancel: { next: 'unchanged', httpStatus: 409 },
    expire: { next: 'unchanged' },
  },
};
