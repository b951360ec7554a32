import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Logger } from 'pino';
import { startSandboxChain, type SandboxChain } from '../chain/index.js';
import type { Config } from '../config/index.js';
import { prepareDemoMerchant, type RegisteredMerchant } from '../merchants/index.js';
import { databaseLocation } from '../node.js';
import { openStore } from '../store/index.js';

/** What the primary prepares once for all workers. */
export interface SharedResources {
  /** Added to every worker's environment (so each worker's loadConfig sees it). */
  env: Record<string, string>;
  generatedAdminToken: string | undefined;
  demoMerchant: RegisteredMerchant | undefined;
  /** Stops the sandbox chain, if the primary runs it; after the workers are gone. */
  stop(): Promise<void>;
}

/**
 * Runs the migrations once (rather than n workers queueing on their lock) and, in sandbox mode,
 * does what every worker would otherwise do on its own and so do differently: rotate the demo
 * merchant's key (the last rotation would win, the printed key would not work), generate the
 * admin token, and start the one sandbox chain they all index and pay on (a server on loopback,
 * passed to the workers as SANDBOX_CHAIN_URL, exactly like `npm run sandbox-chain`).
 */
export async function prepareShared(config: Config, logger: Logger): Promise<SharedResources> {
  const store = await openStore(databaseLocation(config));
  let demoMerchant: RegisteredMerchant | undefined;
  try {
    if (config.sandbox) demoMerchant = await prepareDemoMerchant(store, new Date());
  } finally {
    await store.close();
  }
  const env: Record<string, string> = {};
  let generatedAdminToken: string | undefined;
  if (config.sandbox && !config.adminToken) {
    generatedAdminToken = `adm_${randomBytes(24).toString('base64url')}`;
    env.ADMIN_TOKEN = generatedAdminToken;
  }
  let chain: SandboxChain | undefined;
  if (config.sandbox && !config.sandboxChainUrl) {
    chain = await startSandboxChain({
      dataFile: path.join(config.dataDir, 'sandbox-chain.jsonl'),
      packageId: config.packageId,
      logger: logger.child({ component: 'sandbox-chain' }),
    });
    env.SANDBOX_CHAIN_URL = chain.url;
  }
  return {
    env,
    generatedAdminToken,
    demoMerchant,
    stop: async () => chain?.stop(),
  };
}
