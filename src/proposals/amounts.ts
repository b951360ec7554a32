/**
 * Money as decimal strings and integer base units. No floating point anywhere: "12.50" USDC is
 * 12_500_000n, computed digit by digit.
 */
const DECIMAL = /^(0|[1-9][0-9]*)(?:\.([0-9]+))?$/;
const U64_MAX = (1n << 64n) - 1n;

export type AmountProblem = 'format' | 'too_many_decimals' | 'zero' | 'too_large';

export function toBaseUnits(
  value: string,
  decimals: number,
): { ok: true; units: bigint } | { ok: false; problem: AmountProblem } {
  const match = DECIMAL.exec(value);
  if (!match) return { ok: false, problem: 'format' };
  const whole = match[1] ?? '0';
  const fraction = match[2] ?? '';
  if (fraction.length > decimals) return { ok: false, problem: 'too_many_decimals' };
  const units = BigInt(whole + fraction.padEnd(decimals, '0'));
  if (units === 0n) return { ok: false, problem: 'zero' };
  // The Move function takes a u64 amount.
  if (units > U64_MAX) return { ok: false, problem: 'too_large' };
  return { ok: true, units };
}

/** Base units back to a decimal string with trailing zeros trimmed ("12.5"). */
export function fromBaseUnits(units: bigint, decimals: number): string {
  const digits = units.toString().padStart(decimals + 1, '0');
  const whole = digits.slice(0, digits.length - decimals);
  const fraction = digits.slice(digits.length - decimals).replace(/0+$/, '');
  return fraction ? `${whole}.${fraction}` : whole;
}
