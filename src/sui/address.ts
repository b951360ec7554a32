const SUI_ADDRESS = /^0x[0-9a-fA-F]{1,64}$/;

export function isSuiAddress(value: string): boolean {
  return SUI_ADDRESS.test(value);
}

/** Sui addresses compare equal only in one form: lowercase, 0x + 64 hex digits. */
export function normaliseSuiAddress(value: string): string {
  if (!isSuiAddress(value)) throw new Error(`Not a Sui address: ${value}`);
  return `0x${value.slice(2).toLowerCase().padStart(64, '0')}`;
}
