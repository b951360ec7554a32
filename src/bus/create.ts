import type { Logger } from 'pino';
import { createLocalBus, type Bus } from './index.js';
import { createPostgresBus } from './postgres.js';
import { createRedisBus } from './redis.js';

export type BusKind = 'local' | 'postgres' | 'redis';

/**
 * `auto`: Redis when a Redis URL is configured, else Postgres NOTIFY when the store is Postgres
 * (the nodes already share it), else in-process (the embedded store serves one process).
 */
export function resolveBusKind(
  requested: BusKind | 'auto',
  { redisUrl, storeKind }: { redisUrl: string | undefined; storeKind: 'pglite' | 'postgres' },
): BusKind {
  if (requested !== 'auto') return requested;
  if (redisUrl) return 'redis';
  return storeKind === 'postgres' ? 'postgres' : 'local';
}

/** The part of the configuration the bus reads. */
export interface BusConfig {
  busKind: BusKind;
  databaseUrl?: string | undefined;
  redisUrl?: string | undefined;
  /** Nodes share a bus only on the same channel; the default suits one deployment per engine. */
  busChannel?: string | undefined;
}

/**
 * The bus the configuration asks for, subscribed and ready. Rejects when its engine is
 * unreachable at start, or when the URL it needs is missing.
 */
export async function createBus(
  config: BusConfig,
  { nodeId, logger }: { nodeId: string; logger: Logger },
): Promise<Bus> {
  const channel = config.busChannel;
  switch (config.busKind) {
    case 'local':
      return createLocalBus(nodeId, (error) => logger.error({ err: error }, 'bus listener failed'));
    case 'postgres':
      if (!config.databaseUrl) throw new Error('the postgres bus needs DATABASE_URL');
      return createPostgresBus({ url: config.databaseUrl, nodeId, logger, channel });
    case 'redis':
      if (!config.redisUrl) throw new Error('the redis bus needs REDIS_URL');
      return createRedisBus({ url: config.redisUrl, nodeId, logger, channel });
  }
}
