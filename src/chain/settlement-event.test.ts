import { describe, expect, it } from 'vitest';
import { normaliseCoinType } from '../sui/coin-type.js';
import {
  creditedTo,
  decodeSettlementEvent,
  encodeSettlementEvent,
  EventDecodeError,
  settlementEventType,
} from './settlement-event.js';

const hex = (byte: string) => byte.repeat(32);
const INTENT = hex('ab');
const MERCHANT = `0x${hex('11')}`;
const RECEIPT = `0x${hex('22')}`;
const WARRANTY = `0x${hex('33')}`;
const BUYER = `0x${hex('44')}`;

/** The event's BCS written out by hand, field by field, independent of the decoder's layout. */
function handBuiltEvent(options: { warranty: boolean; amount: bigint }): Uint8Array {
  const amount = Buffer.alloc(8);
  amount.writeBigUInt64LE(options.amount);
  return Uint8Array.from(
    Buffer.concat([
      Buffer.from([32]), // ULEB128 length of intent_hash
      Buffer.from(INTENT, 'hex'),
      Buffer.from(MERCHANT.slice(2), 'hex'),
      amount,
      Buffer.from(RECEIPT.slice(2), 'hex'),
      options.warranty
        ? Buffer.concat([Buffer.from([1]), Buffer.from(WARRANTY.slice(2), 'hex')])
        : Buffer.from([0]),
      Buffer.from(BUYER.slice(2), 'hex'),
    ]),
  );
}

describe('settlement event decoding', () => {
  it('decodes a hand-built event with a warranty', () => {
    expect(decodeSettlementEvent(handBuiltEvent({ warranty: true, amount: 12_500_000n }))).toEqual({
      intentHash: INTENT,
      merchant: MERCHANT,
      amount: 12_500_000n,
      receiptId: RECEIPT,
      warrantyId: WARRANTY,
    });
  });

  it('decodes an event without a warranty and a u64 amount above 2^53', () => {
    const amount = (1n << 64n) - 1n;
    const event = decodeSettlementEvent(handBuiltEvent({ warranty: false, amount }));
    expect(event.warrantyId).toBeNull();
    expect(event.amount).toBe(amount);
  });

  it('never returns the buyer stealth address', () => {
    const event = decodeSettlementEvent(handBuiltEvent({ warranty: true, amount: 1n }));
    expect(
      JSON.stringify(event, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}` : v)),
    ).not.toContain(hex('44'));
  });

  it('encodes exactly the bytes a hand-built event has', () => {
    const encoded = encodeSettlementEvent({
      intentHash: INTENT,
      merchant: MERCHANT,
      amount: 7n,
      receiptId: RECEIPT,
      warrantyId: null,
      buyerStealthAddress: BUYER,
    });
    expect(Buffer.from(encoded)).toEqual(
      Buffer.from(handBuiltEvent({ warranty: false, amount: 7n })),
    );
  });

  it('refuses bytes that are cut short or carry extra fields', () => {
    const bytes = handBuiltEvent({ warranty: false, amount: 1n });
    expect(() => decodeSettlementEvent(bytes.slice(0, 40))).toThrow(EventDecodeError);
    expect(() => decodeSettlementEvent(bytes.slice(0, bytes.length - 1))).toThrow(EventDecodeError);
    expect(() => decodeSettlementEvent(Uint8Array.from([...bytes, 0]))).toThrow(EventDecodeError);
  });
});

describe('credited amounts', () => {
  const usdc = '0xdba34672e30cb065b1f93e3ab55318768fd6fef66c15942c9f7cb846e2f900e7::usdc::USDC';

  it("keeps only the merchant's positive net change per coin type", () => {
    const credited = creditedTo(MERCHANT, [
      { owner: BUYER, coinType: usdc, amount: -5n },
      { owner: MERCHANT, coinType: usdc, amount: 3n },
      { owner: MERCHANT.toUpperCase().replace('0X', '0x'), coinType: usdc, amount: 2n },
      { owner: MERCHANT, coinType: '0x2::sui::SUI', amount: -1n },
      { owner: `0x${hex('55')}`, coinType: usdc, amount: 9n },
    ]);
    expect(credited).toEqual([{ coinType: normaliseCoinType(usdc), amount: 5n }]);
  });
});

describe('settlement event type', () => {
  it('derives the event type from the package id', () => {
    expect(settlementEventType('0x5')).toBe(`0x${'0'.repeat(63)}5::settlement::SettlementEvent`);
  });
});
