import type { TransactionStatus } from '../wire/index.js';

/** What a transition leaves behind: the state the hub and the bus carry. */
export interface TransactionState {
  transactionId: string;
  status: TransactionStatus;
  version: number;
  suiTxDigest: string | null;
  settledAt: Date | null;
  late: boolean;
}

export interface Merchant {
  id: string;
  name: string;
  suiAddress: string;
  hostname: string;
  publicKey: string;
  createdAt: Date;
}

export interface NewProposal {
  transactionId: string;
  merchantId: string;
  intentHash: string;
  document: Record<string, unknown>;
  currency: string;
  coinType: string;
  amountBaseUnits: bigint;
  merchantSuiAddress: string;
  createdAt: Date;
  expiresAt: Date;
}

export class UniqueViolation extends Error {
  constructor(readonly constraint: string | undefined) {
    super(`unique violation${constraint ? ` on ${constraint}` : ''}`);
  }
}
