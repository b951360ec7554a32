import { ConfigError, loadConfig } from './config/index.js';
import { createLogger } from './logger.js';
import { startNode } from './node.js';

/** `npm start`: load the configuration, start one node, stop cleanly on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  const node = await startNode(config, { logger });

  const banner = [`identipay-status listening on ${node.url}`];
  if (config.sandbox)
    banner.push(
      `  mode: sandbox (${node.store.kind === 'pglite' ? `embedded database in ${config.dataDir}` : 'Postgres'})`,
    );
  if (node.generatedAdminToken)
    banner.push(`  admin token (this run only): ${node.generatedAdminToken}`);
  if (node.demoMerchant) {
    banner.push(`  demo merchant: ${node.demoMerchant.did}`);
    banner.push(`  demo merchant API key (this run only): ${node.demoMerchant.apiKey}`);
  }
  console.log(banner.join('\n'));

  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => {
      logger.error('shutdown deadline passed; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    deadline.unref();
    node.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  console.error('identipay-status failed to start:', error);
  process.exit(1);
});
