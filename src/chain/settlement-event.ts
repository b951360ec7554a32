import { bcs } from '@mysten/sui/bcs';
import { normaliseSuiAddress } from '../sui/address.js';
import { normaliseCoinType } from '../sui/coin-type.js';
import type { CoinAmount, SettlementEvent } from './types.js';

/**
 * The one place where the Move event `settlement::SettlementEvent` is decoded, whichever protocol
 * brought it (GraphQL gives the struct's BCS as Base64, gRPC as bytes, the sandbox chain encodes
 * it with the same layout). BCS is positional, so the layout below must match the Move struct:
 *
 *   intent_hash: vector<u8>, merchant: address, amount: u64, receipt_id: ID,
 *   warranty_id: Option<ID>, buyer_stealth_address: address
 *
 * Privacy: the decoder reads the first five fields only and checks that exactly one address
 * remains; the buyer's stealth address is never decoded into a value that could leak.
 */
const EventHead = bcs.struct('SettlementEventHead', {
  intent_hash: bcs.vector(bcs.u8()),
  merchant: bcs.Address,
  amount: bcs.u64(),
  receipt_id: bcs.Address,
  warranty_id: bcs.option(bcs.Address),
});

/** The full layout; only the sandbox chain and tests encode with it. */
const FullEvent = bcs.struct('SettlementEvent', {
  intent_hash: bcs.vector(bcs.u8()),
  merchant: bcs.Address,
  amount: bcs.u64(),
  receipt_id: bcs.Address,
  warranty_id: bcs.option(bcs.Address),
  buyer_stealth_address: bcs.Address,
});

const ADDRESS_LENGTH = 32;

export class EventDecodeError extends Error {
  override name = 'EventDecodeError';
}

export interface SettlementEventFields {
  intentHash: string;
  merchant: string;
  amount: bigint;
  receiptId: string;
  warrantyId: string | null;
}

export function decodeSettlementEvent(bytes: Uint8Array): SettlementEventFields {
  let head: ReturnType<typeof EventHead.parse>;
  let headLength: number;
  try {
    head = EventHead.parse(bytes);
    // BCS has one encoding per value: re-encoding tells how many bytes the head took.
    headLength = EventHead.serialize(head).toBytes().length;
  } catch {
    throw new EventDecodeError('SettlementEvent BCS is truncated');
  }
  // Anything but exactly one trailing address means the Move struct changed: refuse rather than
  // guess, since every field after a mismatch would be garbage.
  if (bytes.length - headLength !== ADDRESS_LENGTH) {
    throw new EventDecodeError('SettlementEvent BCS does not match the expected layout');
  }
  return {
    intentHash: Buffer.from(Uint8Array.from(head.intent_hash)).toString('hex'),
    merchant: normaliseSuiAddress(head.merchant),
    amount: BigInt(head.amount),
    receiptId: normaliseSuiAddress(head.receipt_id),
    warrantyId: head.warranty_id === null ? null : normaliseSuiAddress(head.warranty_id),
  };
}

export interface EncodableSettlementEvent extends SettlementEventFields {
  buyerStealthAddress: string;
}

export function encodeSettlementEvent(event: EncodableSettlementEvent): Uint8Array {
  return FullEvent.serialize({
    intent_hash: Array.from(Buffer.from(event.intentHash, 'hex')),
    merchant: event.merchant,
    amount: event.amount,
    receipt_id: event.receiptId,
    warranty_id: event.warrantyId,
    buyer_stealth_address: event.buyerStealthAddress,
  }).toBytes();
}

export interface RawBalanceChange {
  owner: string;
  coinType: string;
  /** Signed, in base units. */
  amount: bigint;
}

/**
 * What the transaction credited to `merchant`: the positive net change per coin type. Changes of
 * every other owner (the buyer's stealth address, a gas sponsor) are dropped here.
 */
export function creditedTo(merchant: string, changes: readonly RawBalanceChange[]): CoinAmount[] {
  const totals = new Map<string, bigint>();
  for (const change of changes) {
    if (normaliseSuiAddress(change.owner) !== merchant) continue;
    const coinType = normaliseCoinType(change.coinType);
    totals.set(coinType, (totals.get(coinType) ?? 0n) + change.amount);
  }
  return [...totals]
    .filter(([, amount]) => amount > 0n)
    .map(([coinType, amount]) => ({ coinType, amount }))
    .sort((a, b) => a.coinType.localeCompare(b.coinType));
}

export interface EventContext {
  txDigest: string;
  eventIndex: number;
  checkpoint: bigint;
  checkpointTimestamp: Date;
  balanceChanges: readonly RawBalanceChange[];
}

/** Decodes the event and keeps only what the indexer may see. */
export function toSettlementEvent(bcsBytes: Uint8Array, context: EventContext): SettlementEvent {
  const fields = decodeSettlementEvent(bcsBytes);
  return {
    txDigest: context.txDigest,
    eventIndex: context.eventIndex,
    checkpoint: context.checkpoint,
    checkpointTimestamp: context.checkpointTimestamp,
    ...fields,
    credited: creditedTo(fields.merchant, context.balanceChanges),
  };
}

/** `<package>::settlement::SettlementEvent` with the package id in normal form. */
export function settlementEventType(packageId: string): string {
  return `${normaliseSuiAddress(packageId)}::settlement::SettlementEvent`;
}
