import { normaliseCoinType } from '../sui/coin-type.js';

/** The coins a proposal can be priced in, per network: coin type for verification, decimals for
 * converting decimal strings to base units with integer arithmetic. */
export interface Currency {
  code: string;
  coinType: string;
  decimals: number;
}

export type SuiNetwork = 'sandbox' | 'mainnet' | 'testnet' | 'devnet';

const SUI: Currency = { code: 'SUI', coinType: normaliseCoinType('0x2::sui::SUI'), decimals: 9 };

const USDC_MAINNET =
  '0xdba34672e30cb065b1f93e3ab55318768fd6fef66c15942c9f7cb846e2f900e7::usdc::USDC';
const USDC_TESTNET =
  '0xa1ec7fc00a6f40db9693ad1415d0c193ad3906494428cf252621037bd7117e29::usdc::USDC';

/** The sandbox chain pays in the mainnet coin types so that demo data looks like the real thing. */
const USDC_BY_NETWORK: Record<SuiNetwork, string | undefined> = {
  sandbox: USDC_MAINNET,
  mainnet: USDC_MAINNET,
  testnet: USDC_TESTNET,
  devnet: undefined,
};

export function currenciesFor(network: SuiNetwork): ReadonlyMap<string, Currency> {
  const table = new Map<string, Currency>([['SUI', SUI]]);
  const usdc = USDC_BY_NETWORK[network];
  if (usdc) table.set('USDC', { code: 'USDC', coinType: normaliseCoinType(usdc), decimals: 6 });
  return table;
}
