/**
 * The bus engine the soak's nodes share, and how its fault takes it away for a while:
 *
 * - redis (default): a redis-server of the soak's own, SIGKILLed and started again on its port;
 * - postgres (`SOAK_BUS=postgres`): the Postgres bus on the run's own database. The machine's
 *   Postgres serves others, so instead of a restart every connection to that database is cut
 *   and new ones are refused for the while (`ALLOW_CONNECTIONS false`): the store's pools, the
 *   indexer's lock and the bus's listener all drop at once, as in a Postgres restart.
 */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { freePort, startRedis, type Proc } from './soak-cluster.js';
import { delay } from './soak-load.js';

export interface SoakBus {
  /** As the summary names it: `Redis`, `Postgres`. */
  name: string;
  /** What the nodes need to use it. */
  env: Record<string, string>;
  /** The engine unreachable for `downMs`; resolves once it is back. Says what was done. */
  interrupt(downMs: number): Promise<string>;
  stop(): Promise<void>;
}

export type SoakBusKind = 'redis' | 'postgres';

export function soakBusKind(value: string | undefined): SoakBusKind {
  if (value === undefined || value === 'redis') return 'redis';
  if (value === 'postgres') return 'postgres';
  throw new Error(`SOAK_BUS must be redis or postgres, not ${value}`);
}

const channel = () => `soak_${randomBytes(4).toString('hex')}`;

export async function redisSoakBus(logDir: string): Promise<SoakBus> {
  const port = await freePort();
  let redis: Proc = await startRedis(port, logDir);
  return {
    name: 'Redis',
    env: { BUS: 'redis', REDIS_URL: `redis://127.0.0.1:${port}`, BUS_CHANNEL: channel() },
    async interrupt(downMs) {
      await redis.kill('SIGKILL');
      await delay(downMs);
      redis = await startRedis(port, logDir);
      return `redis-server down ${downMs / 1000} s`;
    },
    stop: () => redis.kill('SIGKILL'),
  };
}

/** `databaseUrl` is the run's own database; `adminUrl` another one on the same server. */
export function postgresSoakBus(databaseUrl: string, adminUrl: string): SoakBus {
  const database = decodeURIComponent(new URL(databaseUrl).pathname.slice(1));
  return {
    name: 'Postgres',
    env: { BUS: 'postgres', BUS_CHANNEL: channel() },
    async interrupt(downMs) {
      const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
      try {
        await admin`alter database ${admin(database)} allow_connections false`;
        await admin`
          select pg_terminate_backend(pid)
          from pg_stat_activity where datname = ${database} and pid <> pg_backend_pid()`;
        await delay(downMs);
        return `every connection cut, new ones refused for ${downMs / 1000} s`;
      } finally {
        await admin`alter database ${admin(database)} allow_connections true`;
        await admin.end();
      }
    },
    stop: async () => {},
  };
}
