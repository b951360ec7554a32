import type { RegisteredMerchant } from '../merchants/index.js';

export interface BannerFacts {
  url: string;
  sandbox: boolean;
  /** `embedded database in <dir>` or `Postgres`. */
  database: string;
  workers: number;
  generatedAdminToken: string | undefined;
  demoMerchant: RegisteredMerchant | undefined;
}

/**
 * What `npm start` prints once the service listens. Scripts and tests parse `listening on <url>`
 * and `API key (this run only): <key>`: keep those two phrases.
 */
export function bannerText(facts: BannerFacts): string {
  const lines = [`identipay-status listening on ${facts.url}`];
  if (facts.sandbox) lines.push(`  mode: sandbox (${facts.database})`);
  if (facts.workers > 1) lines.push(`  workers: ${facts.workers} (node:cluster, one port)`);
  if (facts.generatedAdminToken)
    lines.push(`  admin token (this run only): ${facts.generatedAdminToken}`);
  if (facts.demoMerchant) {
    lines.push(`  demo merchant: ${facts.demoMerchant.did}`);
    lines.push(`  demo merchant API key (this run only): ${facts.demoMerchant.apiKey}`);
  }
  return lines.join('\n');
}
