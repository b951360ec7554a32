import pino from 'pino';
import { startSandboxChain } from './server.js';

/**
 * `npm run sandbox-chain`: one sandbox chain that several service nodes share (each started with
 * SANDBOX_CHAIN_URL). The first line on stdout is the URL, for scripts; logs go to stderr.
 */
async function main(): Promise<void> {
  const env = process.env;
  const port = Number(env.PORT ?? 9125);
  const interval = env.CHECKPOINT_INTERVAL_MS ? Number(env.CHECKPOINT_INTERVAL_MS) : undefined;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error('PORT must be 0-65535');
  if (interval !== undefined && !(Number.isInteger(interval) && interval >= 10)) {
    throw new Error('CHECKPOINT_INTERVAL_MS must be an integer of at least 10');
  }
  const logger = pino({ level: env.LOG_LEVEL ?? 'info' }, pino.destination(2));
  const chain = await startSandboxChain({
    host: env.HOST ?? '127.0.0.1',
    port,
    dataFile: env.DATA_FILE || undefined,
    packageId: env.PACKAGE_ID || undefined,
    checkpointIntervalMs: interval,
    logger,
    faults: env.SANDBOX_CHAIN_FAULTS === '1',
  });
  process.stdout.write(`sandbox chain listening on ${chain.url}\n`);
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'sandbox chain stopping');
    chain.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
