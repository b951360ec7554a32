import { isSuiAddress, normaliseSuiAddress } from '../../sui/address.js';
import { isStructTag, normaliseCoinType } from '../../sui/coin-type.js';

/** What a buyer's wallet pays on the sandbox chain: `settlement::execute_commerce<coinType>`. */
export interface SandboxPayment {
  /** Hex of the 32-byte intent hash (with or without 0x). */
  intentHash: string;
  merchant: string;
  /** Base units of `coinType`. */
  amount: bigint;
  coinType: string;
  /** Tests pass one to prove it never leaves the chain; otherwise a fresh random address. */
  buyerStealthAddress?: string;
}

export interface PaymentReceipt {
  txDigest: string;
  /** The checkpoint that included the transaction. */
  checkpoint: bigint;
}

/** Like the Move table of executed intents: an intent hash settles once. */
export class IntentAlreadySettledError extends Error {
  override name = 'IntentAlreadySettledError';

  constructor(readonly intentHash: string) {
    super(`Intent ${intentHash} was already settled on the sandbox chain`);
  }
}

export class SandboxInputError extends Error {
  override name = 'SandboxInputError';
}

const U64_MAX = (1n << 64n) - 1n;
const INTENT_HASH = /^(0x)?[0-9a-fA-F]{64}$/;

export interface NormalisedPayment {
  intentHash: string;
  merchant: string;
  amount: bigint;
  coinType: string;
  buyerStealthAddress: string | undefined;
}

export function normalisePayment(payment: SandboxPayment): NormalisedPayment {
  if (typeof payment.intentHash !== 'string' || !INTENT_HASH.test(payment.intentHash)) {
    throw new SandboxInputError('intentHash must be 64 hex digits');
  }
  if (typeof payment.merchant !== 'string' || !isSuiAddress(payment.merchant)) {
    throw new SandboxInputError('merchant must be a Sui address');
  }
  if (typeof payment.amount !== 'bigint' || payment.amount <= 0n || payment.amount > U64_MAX) {
    throw new SandboxInputError('amount must be a positive u64 in base units');
  }
  if (typeof payment.coinType !== 'string' || !isStructTag(payment.coinType)) {
    throw new SandboxInputError('coinType must be a full coin type such as 0x2::sui::SUI');
  }
  const buyer = payment.buyerStealthAddress;
  if (buyer !== undefined && !isSuiAddress(buyer)) {
    throw new SandboxInputError('buyerStealthAddress must be a Sui address');
  }
  return {
    intentHash: payment.intentHash.replace(/^0x/, '').toLowerCase(),
    merchant: normaliseSuiAddress(payment.merchant),
    amount: payment.amount,
    coinType: normaliseCoinType(payment.coinType),
    buyerStealthAddress: buyer === undefined ? undefined : normaliseSuiAddress(buyer),
  };
}

/** The JSON body of `POST /sandbox/pay`: the amount travels as a decimal string. */
export function paymentFromJson(body: unknown): SandboxPayment {
  if (typeof body !== 'object' || body === null) {
    throw new SandboxInputError('body must be a JSON object');
  }
  const { intentHash, merchant, amount, coinType } = body as Record<string, unknown>;
  if (typeof amount !== 'string' || !/^[0-9]{1,20}$/.test(amount)) {
    throw new SandboxInputError('amount must be a decimal string of base units');
  }
  return normalisePayment({
    intentHash: intentHash as string,
    merchant: merchant as string,
    amount: BigInt(amount),
    coinType: coinType as string,
  });
}
