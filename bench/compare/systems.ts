/**
 * The two systems the compare bench measures with the same load generator, behind one shape:
 * create transactions, give each a WebSocket URL, settle some at once, and say when each
 * settlement started out (the time its latency is counted from).
 *
 * - reference: bench/reference/server.ts, one process per shard, each on its own port; a
 *   transaction lives on one shard. Start time: the shard's clock when the settle request
 *   reached it (it then pushes to every socket in one synchronous loop).
 * - service: `node dist/main.js` (sandbox mode, on a standalone sandbox chain), proposals
 *   created through the merchant API and paid on the chain, settled by the real indexer.
 *   Start time: the commit of the indexer batch that settled it, from the moment the indexer
 *   asked for it (its `settlements committed` line, less the COMMIT's round trip it reports).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { sandboxWalletClient } from '../../src/chain/index.js';
import { PROJECT_ROOT } from '../../src/config/index.js';
import { waitFor } from '../../test/support/wait.js';
import type { Received } from '../load/protocol.js';
import { spawnServer, type ServerProcess } from '../load/processes.js';

export interface BenchSystem {
  label: string;
  /** Server processes (their descendants are counted too). */
  roots(): number[];
  /** Starts the servers afresh on the same data: memory is then measured without setup churn. */
  restart?(): Promise<void>;
  /** Creates `count` pending transactions; resolves with their ids. */
  create(count: number): Promise<string[]>;
  url(transactionId: string): string;
  /** Settles these transactions at once (resolves once triggered, not delivered). */
  settle(transactionIds: string[]): Promise<void>;
  /** When each settlement's push started out, on the host's clock; after the messages came. */
  startTimes(received: Received[]): Promise<Map<string, number>>;
  stop(): Promise<void>;
}

const listening = (output: string) => /listening on (http:\/\/\S+)/.exec(output)?.[1];

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`POST ${url} answered ${response.status}: ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

/** `items` through `task`, `width` at a time. */
export async function inParallel<T, R>(
  items: readonly T[],
  width: number,
  task: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return results;
}

export async function startReference(shards: number): Promise<BenchSystem> {
  const servers: { server: ServerProcess; url: string }[] = [];
  const script = path.join(PROJECT_ROOT, 'bench', 'reference', 'server.ts');
  try {
    for (let i = 0; i < shards; i++) {
      const { server, info } = await spawnServer(script, { PORT: '0' }, listening, {
        typescript: true,
      });
      servers.push({ server, url: info });
    }
  } catch (error) {
    await Promise.all(servers.map(({ server }) => server.kill()));
    throw error;
  }
  const shardOf = new Map<string, number>();
  const startedAt = new Map<string, number>();
  const byShard = (ids: readonly string[]) =>
    servers.map((_, shard) => ids.filter((id) => shardOf.get(id) === shard));
  return {
    label: shards === 1 ? 'reference' : `reference, ${shards} shards`,
    roots: () => servers.map(({ server }) => server.pid),
    async create(count) {
      const ids = Array.from({ length: count }, (_, i) => {
        const id = randomUUID();
        shardOf.set(id, i % shards);
        return id;
      });
      await Promise.all(
        byShard(ids).map((mine, shard) => post(`${servers[shard]?.url}/transactions`, mine)),
      );
      return ids;
    },
    url(id) {
      const base = servers[shardOf.get(id) ?? 0]?.url ?? '';
      return `${base.replace(/^http/, 'ws')}/ws/transactions/${id}`;
    },
    async settle(ids) {
      await Promise.all(
        byShard(ids).map(async (mine, shard) => {
          const answer = await post(`${servers[shard]?.url}/settle`, mine);
          for (const id of mine) startedAt.set(id, answer.startedAt as number);
        }),
      );
    },
    async startTimes(received) {
      return new Map(
        received.map(({ transactionId }) => [
          transactionId,
          startedAt.get(transactionId) ?? Number.NaN,
        ]),
      );
    },
    stop: async () => {
      await Promise.all(servers.map(({ server }) => server.kill()));
    },
  };
}

export interface ServiceOptions {
  /** Unset: embedded PGlite in a fresh folder. */
  databaseUrl?: string;
  workers?: number;
  /** With `workers`: the workers accept connections themselves (NODE_CLUSTER_SCHED_POLICY=none). */
  workersAccept?: boolean;
  dataDir: string;
  /** Another build of the service (a checkout of an older commit) for before/after figures. */
  root?: string;
  /** More environment for the service (a setting's cost measured by turning it off). */
  env?: Record<string, string>;
}

export async function startService(options: ServiceOptions): Promise<BenchSystem> {
  const adminToken = `bench-admin-${randomBytes(12).toString('hex')}`;
  const chain = await spawnServer(
    path.join(options.root ?? PROJECT_ROOT, 'dist', 'chain', 'sandbox', 'main.js'),
    // A checkpoint a second: few empty ones to read. A settle pays in one request (payAll), so
    // its payments land in one checkpoint, one indexer batch, whatever the interval.
    { PORT: '0', CHECKPOINT_INTERVAL_MS: '1000', LOG_LEVEL: 'warn' },
    (output) => /sandbox chain listening on (http:\/\/\S+)/.exec(output)?.[1],
  );
  const env: Record<string, string> = {
    PORT: '0',
    ADMIN_TOKEN: adminToken,
    SANDBOX_CHAIN_URL: chain.info,
    // `settlements committed` lines (info) carry the commit time.
    LOG_LEVEL: 'info',
    // One machine opens every socket and sends every request: per-IP protections would refuse it.
    WS_MAX_SOCKETS_PER_IP: '1000000',
    WS_UPGRADES_PER_MINUTE_PER_IP: '0',
    REST_REQUESTS_PER_MINUTE_PER_KEY: '0',
    REST_REQUESTS_PER_MINUTE_PER_IP: '0',
    ...(options.databaseUrl
      ? { DATABASE_URL: options.databaseUrl }
      : { DATA_DIR: options.dataDir }),
    ...(options.workers && options.workers > 1 ? { WORKERS: String(options.workers) } : {}),
    ...(options.workersAccept ? { NODE_CLUSTER_SCHED_POLICY: 'none' } : {}),
    ...options.env,
  };
  const launch = async () => {
    const { server, info } = await spawnServer(
      path.join(options.root ?? PROJECT_ROOT, 'dist', 'main.js'),
      env,
      listening,
    );
    return { server, base: info };
  };
  let service: Awaited<ReturnType<typeof launch>>;
  try {
    service = await launch();
  } catch (error) {
    await chain.server.kill();
    throw error;
  }
  const merchantAddress = `0x${randomBytes(32).toString('hex')}`;
  const wallet = sandboxWalletClient(chain.info, { timeoutMs: 60_000 });
  const intents = new Map<string, string>();
  let key = '';
  const kind = options.databaseUrl ? 'postgres' : 'pglite';
  let commitLog = new CommitLog();
  return {
    label:
      options.workers && options.workers > 1
        ? `service (${kind}, ${options.workers} workers)`
        : `service (${kind})`,
    roots: () => [service.server.pid],
    async restart() {
      await service.server.kill();
      service = await launch();
      commitLog = new CommitLog();
    },
    async create(count) {
      if (!key) {
        const merchant = await post(
          `${service.base}/api/identipay/v1/merchants`,
          {
            name: 'Bench',
            suiAddress: merchantAddress,
            hostname: `bench-${randomBytes(6).toString('hex')}.example.com`,
            publicKey: randomBytes(32).toString('hex'),
          },
          { authorization: `Bearer ${adminToken}` },
        );
        key = merchant.apiKey as string;
      }
      const body = {
        items: [{ name: 'Espresso', quantity: 1, unitPrice: '1' }],
        amount: { value: '1', currency: 'SUI' },
        deliverables: { receipt: true },
        expiresInSeconds: 3600,
      };
      return inParallel(Array.from({ length: count }), 16, async () => {
        const created = await post(`${service.base}/api/identipay/v1/proposals`, body, {
          authorization: `Bearer ${key}`,
        });
        const id = created.transactionId as string;
        intents.set(id, created.intentHash as string);
        return id;
      });
    },
    url: (id) => `${service.base.replace(/^http/, 'ws')}/ws/transactions/${id}`,
    async settle(ids) {
      if (ids.length === 0) return;
      // One request, one checkpoint, one indexer batch: a thousand requests of the bench's own
      // would compete with the fan-out for the CPU and spread over two checkpoints.
      void wallet
        .payAll(
          ids.map((id) => ({
            intentHash: intents.get(id) ?? '',
            merchant: merchantAddress,
            amount: 1_000_000_000n,
            coinType: '0x2::sui::SUI',
          })),
        )
        .catch((error: unknown) => console.error('bench: the payments failed:', error));
    },
    async startTimes(received) {
      // The log may still be on its way through the pipe when the messages have arrived.
      await waitFor(
        () => {
          commitLog.scan(service.server.output());
          return received.every((item) => commitLog.times.has(item.checkpointTimestamp ?? ''));
        },
        'the settlements committed log lines',
        30_000,
        50,
      );
      return commitTimes(commitLog.times, received);
    },
    stop: async () => {
      await service.server.kill();
      await chain.server.kill();
    },
  };
}

/**
 * `settlements committed` log lines, written right after each indexer commit: checkpoint
 * timestamp → when the indexer asked for that COMMIT (the line's time less its `commitMs`).
 * Counted from there because on the Postgres bus the other nodes are told by the commit itself
 * and may push before the line is written; older builds log no `commitMs` (their line's time).
 */
class CommitLog {
  readonly times = new Map<string, number>();
  private scanned = 0;

  scan(output: string): void {
    const end = output.lastIndexOf('\n') + 1;
    for (const line of output.slice(this.scanned, end).split('\n')) {
      if (!line.includes('"msg":"settlements committed"')) continue;
      const entry = JSON.parse(line) as {
        time: number;
        checkpointTimestamp: string;
        commitMs?: number;
      };
      this.times.set(entry.checkpointTimestamp, entry.time - (entry.commitMs ?? 0));
    }
    this.scanned = Math.max(this.scanned, end);
  }
}

/** Each received settlement's start: the commit of the batch of its checkpoint. */
function commitTimes(committedAt: Map<string, number>, received: Received[]): Map<string, number> {
  return new Map(
    received.map((item) => [
      item.transactionId,
      committedAt.get(item.checkpointTimestamp ?? '') ?? Number.NaN,
    ]),
  );
}
