/**
 * Bus benchmark (issue 4): cross-node delivery latency. Two service processes share one
 * Postgres database and a bus; every proposal has a socket on node A and one on node B; the
 * proposals are cancelled through A at a steady rate, and the bench times each `cancelled`
 * message's arrival on both sockets.
 *
 *   commit on A → socket on B: B's arrival minus A's. A pushes to its own sockets on the turn
 *     after the commit (once the message is on its way to the engine), so A's arrival stands
 *     for the commit (plus encoding one message and one local push, well under a millisecond)
 *     on the bench's own clock.
 *   cancel request → socket on B: from sending the request to A, whatever it waited for.
 *
 * The single-node local bus is the reference: there A and B are the same node.
 *
 *   npm run bench -- bus      (needs DATABASE_URL; the Redis bus too when REDIS_URL is set)
 */
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { startSandboxChain } from '../src/chain/index.js';
import {
  ProcessGroup,
  createTransaction,
  registerMerchantKey,
  request,
  startServiceNode,
  type ServiceNode,
} from '../test/support/cluster.js';
import { API } from '../test/support/http.js';
import { postgresForTests } from '../test/support/postgres.js';
import { ensureBuilt } from '../test/support/process.js';
import { redisForTests } from '../test/support/redis.js';
import { waitFor } from '../test/support/wait.js';
import { percentile, type Row } from './report.js';

const ADMIN_TOKEN = 'bench-admin-token-0123456789';

type BusKind = 'local' | 'postgres' | 'redis';

interface Watched {
  id: string;
  /** performance.now() when the cancel request was sent, and when its `cancelled` reached A/B. */
  sentAt?: number;
  onA?: number;
  onB?: number;
}

/** A socket that notes when the `cancelled` status arrives; resolves once it is open. */
function watch(node: ServiceNode, watched: Watched, side: 'onA' | 'onB'): Promise<WebSocket> {
  const ws = new WebSocket(`${node.wsBase}/ws/transactions/${watched.id}`);
  ws.on('message', (data) => {
    const message = JSON.parse(data.toString()) as { status?: string };
    if (message.status === 'cancelled') watched[side] ??= performance.now();
  });
  return new Promise((resolve, reject) => {
    ws.once('message', () => resolve(ws)); // the snapshot: the hub is watching for it now
    ws.once('error', reject);
  });
}

/** `count` items through `task`, `width` at a time. */
async function inBatches<T>(items: T[], width: number, task: (item: T) => Promise<void>) {
  for (let start = 0; start < items.length; start += width) {
    await Promise.all(items.slice(start, start + width).map(task));
  }
}

/** Cancels `count` proposals through A, one every `intervalMs`, watched on A and on B. */
async function measure(
  kind: BusKind,
  env: Record<string, string>,
  count: number,
  intervalMs: number,
): Promise<Row[]> {
  const group = new ProcessGroup();
  const sockets: WebSocket[] = [];
  try {
    const nodeEnv = {
      ...env,
      BUS: kind,
      ADMIN_TOKEN,
      // One client opens every socket and sends every request: per-IP protections would refuse it.
      WS_MAX_SOCKETS_PER_IP: '100000',
      WS_UPGRADES_PER_MINUTE_PER_IP: '0',
      REST_REQUESTS_PER_MINUTE_PER_KEY: '0',
      REST_REQUESTS_PER_MINUTE_PER_IP: '0',
    };
    const a = await startServiceNode(group, 'A', nodeEnv);
    const b = kind === 'local' ? a : await startServiceNode(group, 'B', nodeEnv);
    const key = await registerMerchantKey(a.url, ADMIN_TOKEN);
    const watched: Watched[] = [];
    await inBatches(
      Array.from({ length: count }, (_, index) => index),
      25,
      async () => {
        watched.push({ id: await createTransaction(a.url, key, 3600) });
      },
    );
    await inBatches(watched, 50, async (item) => {
      sockets.push(await watch(a, item, 'onA'));
      if (b !== a) sockets.push(await watch(b, item, 'onB'));
    });

    // A steady rate, not a burst: each request goes out on its own tick, answered or not.
    const answers: Promise<void>[] = [];
    for (const item of watched) {
      item.sentAt = performance.now();
      answers.push(
        request(a.url, 'POST', `${API}/transactions/${item.id}/cancel`, { key }).then((answer) => {
          if (answer.status !== 200) throw new Error(`cancel answered ${answer.status}`);
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
    await Promise.all(answers);
    const arrived = (item: Watched) => (b === a ? item.onA : item.onB) !== undefined;
    await waitFor(() => watched.every(arrived), 'every cancel on B', 30_000, 20);

    const label =
      kind === 'local'
        ? 'single node, local bus'
        : `${kind === 'redis' ? 'Redis' : 'Postgres'} bus`;
    const rows: Row[] = [];
    const stats = (figure: string, values: number[]) => {
      rows.push({ figure: `${figure} p50 (${label})`, value: percentile(values, 50), unit: 'ms' });
      rows.push({ figure: `${figure} p99 (${label})`, value: percentile(values, 99), unit: 'ms' });
    };
    if (kind !== 'local') {
      stats(
        'commit on A → socket on B',
        watched.map((item) => (item.onB ?? 0) - (item.onA ?? 0)),
      );
      stats(
        'cancel request → socket on B',
        watched.map((item) => (item.onB ?? 0) - (item.sentAt ?? 0)),
      );
    } else {
      stats(
        'cancel request → socket',
        watched.map((item) => (item.onA ?? 0) - (item.sentAt ?? 0)),
      );
    }
    return rows;
  } finally {
    for (const ws of sockets) ws.terminate();
    await group.killAll();
  }
}

/** The `bus` suite: the local reference, the Postgres bus, and the Redis bus when reachable. */
export async function busLatency(count = 500, intervalMs = 10): Promise<Row[]> {
  if (!process.env.DATABASE_URL) throw new Error('the bus benchmark needs DATABASE_URL');
  ensureBuilt();
  const pg = await postgresForTests();
  const redis = process.env.REDIS_URL ? await redisForTests() : undefined;
  // A chain for the nodes to follow (nothing is paid): without one each would start its own.
  const chain = await startSandboxChain({ checkpointIntervalMs: 1000 });
  const rows: Row[] = [];
  try {
    const kinds: BusKind[] = ['local', 'postgres', ...(redis?.available ? ['redis' as const] : [])];
    for (const kind of kinds) {
      const database = await pg.createDatabase();
      try {
        const env: Record<string, string> = {
          DATABASE_URL: database.url,
          SANDBOX_CHAIN_URL: chain.url,
        };
        if (kind === 'redis' && redis) {
          env.REDIS_URL = redis.url;
          env.BUS_CHANNEL = redis.uniqueChannel('bench_bus');
        }
        rows.push(...(await measure(kind, env, count, intervalMs)));
      } finally {
        await database.drop();
      }
    }
  } finally {
    await chain.stop();
  }
  return rows;
}
