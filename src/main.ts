import cluster from 'node:cluster';
import { bannerText, runPrimary, runWorker, stopOnSignals } from './cluster/index.js';
import { ConfigError, loadConfig, type Config } from './config/index.js';
import { createLogger } from './logger.js';
import { startNode } from './node.js';

/** A bad value stops start-up with exit code 2 and a message naming the variable. */
function configOrExit(): Config {
  try {
    return loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
}

/** `npm start`: one node, or with WORKERS > 1 a cluster of them; stops cleanly on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  const config = configOrExit();
  if (cluster.isWorker) return runWorker(config);
  if (config.workers > 1) return runPrimary(config);

  const logger = createLogger(config.logLevel);
  const node = await startNode(config, { logger });
  console.log(
    bannerText({
      url: node.url,
      sandbox: config.sandbox,
      database:
        node.store.kind === 'pglite' ? `embedded database in ${config.dataDir}` : 'Postgres',
      workers: 1,
      generatedAdminToken: node.generatedAdminToken,
      demoMerchant: node.demoMerchant,
    }),
  );
  stopOnSignals(node, {
    logger,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
    ignoreRepeats: false,
  });
}

main().catch((error: unknown) => {
  console.error('identipay-status failed to start:', error);
  process.exit(1);
});
