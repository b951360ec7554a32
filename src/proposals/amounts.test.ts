import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { propertySeed } from '../../test/support/property.js';
import { fromBaseUnits, toBaseUnits } from './amounts.js';

const U64_MAX = 18_446_744_073_709_551_615n;

describe('toBaseUnits', () => {
  it.each([
    ['12.50', 6, 12_500_000n],
    ['12.5', 6, 12_500_000n],
    ['0.000001', 6, 1n],
    ['1', 9, 1_000_000_000n],
    ['1.123456789', 9, 1_123_456_789n],
    ['0.3', 6, 300_000n],
    ['7', 0, 7n],
    // 2^64 - 1 with 6 decimals: a double cannot represent it, integer arithmetic can.
    ['18446744073709.551615', 6, U64_MAX],
    ['9007199254.740993', 6, 9_007_199_254_740_993n],
  ])('converts %s with %i decimals to %s base units', (value, decimals, units) => {
    expect(toBaseUnits(value, decimals)).toEqual({ ok: true, units });
  });

  it.each([
    ['1.1234567', 6, 'too_many_decimals'],
    ['1.0000000', 6, 'too_many_decimals'],
    ['1.5', 0, 'too_many_decimals'],
    ['0', 6, 'zero'],
    ['0.000000', 6, 'zero'],
    ['18446744073709.551616', 6, 'too_large'],
    ['18446744073709551616', 0, 'too_large'],
    ['-1', 6, 'format'],
    ['+1', 6, 'format'],
    ['1e3', 6, 'format'],
    [' 1', 6, 'format'],
    ['1 ', 6, 'format'],
    ['01', 6, 'format'],
    ['.5', 6, 'format'],
    ['5.', 6, 'format'],
    ['1,5', 6, 'format'],
    ['', 6, 'format'],
    ['0x10', 6, 'format'],
    ['Infinity', 6, 'format'],
    ['NaN', 6, 'format'],
    ['١٢', 6, 'format'],
  ])('refuses %j with %i decimals as %s', (value, decimals, problem) => {
    expect(toBaseUnits(value, decimals)).toEqual({ ok: false, problem });
  });
});

describe('fromBaseUnits', () => {
  it.each([
    [12_500_000n, 6, '12.5'],
    [1n, 6, '0.000001'],
    [1n, 9, '0.000000001'],
    [1_000_000_000n, 9, '1'],
    [1_230_000_000n, 9, '1.23'],
    [U64_MAX, 6, '18446744073709.551615'],
    [0n, 6, '0'],
    [42n, 0, '42'],
  ])('writes %s base units with %i decimals as %s', (units, decimals, text) => {
    expect(fromBaseUnits(units, decimals)).toBe(text);
  });
});

describe('amount properties', () => {
  const decimals = fc.integer({ min: 0, max: 18 });

  it('round-trips every u64 amount through its decimal string', () => {
    const seed = propertySeed('base units → string → base units');
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: U64_MAX }), decimals, (units, places) => {
        expect(toBaseUnits(fromBaseUnits(units, places), places)).toEqual({ ok: true, units });
      }),
      { seed, numRuns: 2000 },
    );
  });

  it('round-trips every decimal string up to trailing zeros', () => {
    const seed = propertySeed('string → base units → string');
    const digits = (min: number, max: number) =>
      fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: min, maxLength: max });
    const amount = fc
      .tuple(fc.integer({ min: 1, max: 9 }), digits(0, 8), digits(0, 9))
      .map(([lead, rest, fraction]) => ({ whole: `${lead}${rest}`, fraction }));
    fc.assert(
      fc.property(amount, ({ whole, fraction }) => {
        const text = fraction ? `${whole}.${fraction}` : whole;
        const result = toBaseUnits(text, 9);
        expect(result.ok).toBe(true);
        if (!result.ok) return;
        const trimmed = fraction.replace(/0+$/, '');
        expect(fromBaseUnits(result.units, 9)).toBe(trimmed ? `${whole}.${trimmed}` : whole);
      }),
      { seed, numRuns: 2000 },
    );
  });

  it('is exact over the whole u64 range: whole × 10^6 + fraction, digit for digit', () => {
    const seed = propertySeed('exact USDC amounts');
    const whole = fc.bigInt({ min: 0n, max: U64_MAX / 1_000_000n - 1n });
    const fraction = fc.integer({ min: 1, max: 999_999 });
    fc.assert(
      fc.property(whole, fraction, (w, f) => {
        const text = `${w}.${String(f).padStart(6, '0')}`;
        expect(toBaseUnits(text, 6)).toEqual({ ok: true, units: w * 1_000_000n + BigInt(f) });
      }),
      { seed, numRuns: 2000 },
    );
  });
});
