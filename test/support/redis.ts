import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/** The machine's Redis (CI sets REDIS_URL to it); each test run gets its own channel names. */
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface RedisForTests {
  available: boolean;
  reason: string;
  url: string;
  /** A channel name no other run uses: pub/sub channels are server-wide, not per database. */
  uniqueChannel(prefix?: string): string;
  /** A plain connection for a test's own commands (CLIENT KILL, raw PUBLISH); quit it after. */
  connect(): Redis;
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

async function probe(): Promise<string | undefined> {
  const client = new Redis(REDIS_URL, {
    lazyConnect: true,
    connectTimeout: 3_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  // connect() rejects with a bare "Connection is closed."; the 'error' event says why.
  let cause: string | undefined;
  client.on('error', (error) => {
    cause ??= error.message;
  });
  try {
    await client.connect();
    await client.ping();
    return undefined;
  } catch (error) {
    return `Redis at ${redact(REDIS_URL)} is unreachable (${cause ?? (error as Error).message})`;
  } finally {
    client.disconnect();
  }
}

/**
 * Suites that need Redis call this at the top. In CI an unreachable Redis is a failure;
 * elsewhere the suite is skipped and the reason printed.
 */
export async function redisForTests(): Promise<RedisForTests> {
  const problem = await probe();
  if (problem && process.env.CI === 'true') {
    throw new Error(`${problem}; CI requires it`);
  }
  if (problem) console.warn(`[skip] ${problem}`);
  return {
    available: !problem,
    reason: problem ?? 'available',
    url: REDIS_URL,
    uniqueChannel(prefix = 'ips_test') {
      return `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
    },
    connect() {
      const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
      client.on('error', (error) => console.warn(`[redis test client] ${error.message}`));
      return client;
    },
  };
}
