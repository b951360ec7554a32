import { randomBytes } from 'node:crypto';
import type { Config } from '../config/index.js';
import { createLogger } from '../logger.js';
import { startNode } from '../node.js';
import { sendToPrimary, WORKER_SLOT_ENV } from './messages.js';
import { workerMetricsRegistry } from './metrics.js';
import { stopOnSignals } from './shutdown.js';

/**
 * One cluster worker: a full node (own store pool, bus subscription, hub, indexer candidate),
 * listening on the port the primary shares. Tells the primary when it listens; stops on
 * SIGTERM/SIGINT (forwarded by the primary, or Ctrl-C's from the terminal).
 */
export async function runWorker(config: Config): Promise<void> {
  const slot = Number(process.env[WORKER_SLOT_ENV] ?? 0);
  const logger = createLogger(config.logLevel).child({ worker: slot });
  // Distinct per worker and per restart: the bus's echo guard and the logs tell them apart.
  const nodeId = `node-${randomBytes(6).toString('hex')}-w${slot}`;
  const node = await startNode(config, {
    logger,
    nodeId,
    prepareDemoMerchant: false,
    metricsRegistry: (own) => workerMetricsRegistry(own, slot),
  });
  // A primary that dies without stopping us is handled by node:cluster itself: the worker exits at
  // once when the IPC channel closes (its clients reconnect and resume with `since`).
  stopOnSignals(node, { logger, shutdownTimeoutMs: config.shutdownTimeoutMs, ignoreRepeats: true });
  sendToPrimary({ type: 'identipay:ready', url: node.url, port: node.port, nodeId });
}
