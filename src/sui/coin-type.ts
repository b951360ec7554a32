import { normaliseSuiAddress } from './address.js';

/**
 * A Move struct tag: `address::module::Name` with optional type parameters. Identifiers follow
 * Move's rules; the address may be short (`0x2`) on input.
 */
const STRUCT_TAG =
  /^(0x)?[0-9a-fA-F]{1,64}::[A-Za-z_][A-Za-z0-9_]*::[A-Za-z_][A-Za-z0-9_]*(<.+>)?$/;

/** An address in a struct tag sits at the start or right after `<` or `,` (type parameters). */
const ADDRESS_POSITION = /(^|[<,]\s*)(?:0x)?([0-9a-fA-F]{1,64})::/g;

export function isStructTag(value: string): boolean {
  return STRUCT_TAG.test(value.trim());
}

/**
 * Type tags compare equal only in one form: every address in it (also inside type parameters)
 * as 0x + 64 lowercase hex. Sui APIs disagree on the form (`0x2::sui::SUI` from one,
 * `0x000…0002::sui::SUI` from another), so every type string is normalised before it is compared.
 */
export function normaliseTypeTag(value: string): string {
  const trimmed = value.trim();
  if (!isStructTag(trimmed)) throw new Error(`Not a Move struct type: ${value}`);
  return trimmed
    .replace(ADDRESS_POSITION, (_match, prefix: string, hex: string) => {
      return `${prefix}${normaliseSuiAddress(`0x${hex}`)}::`;
    })
    .replace(/,\s*/g, ', ');
}

/** `0x2::sui::SUI` → `0x0000000000000000000000000000000000000000000000000000000000000002::sui::SUI`. */
export function normaliseCoinType(coinType: string): string {
  return normaliseTypeTag(coinType);
}
