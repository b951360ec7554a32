import { describe, expect, it } from 'vitest';
import { normaliseCoinType } from './coin-type.js';

describe('normaliseCoinType', () => {
  it('pads every address in a coin type, type parameters included', () => {
    expect(normaliseCoinType('0x2::sui::SUI')).toBe(`0x${'0'.repeat(63)}2::sui::SUI`);
    expect(normaliseCoinType('0x2::coin::Coin<0x2::sui::SUI>')).toBe(
      `0x${'0'.repeat(63)}2::coin::Coin<0x${'0'.repeat(63)}2::sui::SUI>`,
    );
    expect(normaliseCoinType('0xABC::abc::T')).toBe(`0x${'0'.repeat(61)}abc::abc::T`);
  });

  it('rejects what is not a struct type', () => {
    expect(() => normaliseCoinType('sui')).toThrow();
    expect(() => normaliseCoinType('0x2::sui')).toThrow();
  });
});
