/**
 * Issue 4, item 5: three service processes on one Postgres database and one standalone sandbox
 * chain, once with the Postgres bus and once with the Redis bus. Sockets on every node; payments,
 * cancels and expiries made through different nodes; then the bus connections are cut while
 * transitions are made, and the node holding the indexer role is killed. Every socket must see
 * every transition of its transaction exactly once, in order, and end with 1000.
 */
import type { Redis } from 'ioredis';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectionName } from '../src/bus/support.js';
import { prepareDemoMerchant } from '../src/merchants/index.js';
import { openStore } from '../src/store/index.js';
import {
  ProcessGroup,
  createTransaction,
  metric,
  registerMerchantKey,
  request,
  startChainProcess,
  startServiceNode,
  type ServiceNode,
} from './support/cluster.js';
import { deliveryProblems, readHistories } from './support/delivery.js';
import { API } from './support/http.js';
import { postgresForTests, type TestDatabase } from './support/postgres.js';
import { ensureBuilt } from './support/process.js';
import { redisForTests } from './support/redis.js';
import { ResumableSocket } from './support/resumable-socket.js';
import { waitFor } from './support/wait.js';

const pg = await postgresForTests();
const redis = await redisForTests();

const ADMIN_TOKEN = 'multi-node-admin-token-0123456789';

/** What happens to a transaction: `late` pays after the first terminal status. */
type Plan = 'settle' | 'cancel' | 'expire' | 'cancel-then-pay' | 'expire-then-pay';
const FINAL: Record<Plan, string> = {
  settle: 'settled',
  cancel: 'cancelled',
  expire: 'expired',
  'cancel-then-pay': 'settled',
  'expire-then-pay': 'settled',
};

interface Tx {
  id: string;
  plan: Plan;
  index: number;
  sockets: ResumableSocket[];
}

const BUSES = [
  { name: 'Postgres LISTEN/NOTIFY', kind: 'postgres', available: pg.available },
  { name: 'Redis pub/sub', kind: 'redis', available: pg.available && redis.available },
] as const;

describe.each(BUSES)('on the $name bus', (bus) => {
  describe.skipIf(!bus.available)('three service processes', () => {
    const group = new ProcessGroup();
    const nodes: ServiceNode[] = [];
    const sockets: ResumableSocket[] = [];
    let database: TestDatabase | undefined;
    let admin: postgres.Sql | undefined;
    let redisAdmin: Redis | undefined;
    let key = '';

    beforeAll(async () => {
      ensureBuilt();
      database = await pg.createDatabase();
      admin = postgres(database.url, { max: 1, onnotice: () => {} });
      const chain = await startChainProcess(group, 50);
      const env: Record<string, string> = {
        DATABASE_URL: database.url,
        SANDBOX_CHAIN_URL: chain.url,
        CHAIN_POLL_MS: '50',
        EXPIRY_SWEEP_MS: '100',
        ADMIN_TOKEN,
      };
      if (bus.kind === 'redis') {
        env.REDIS_URL = redis.url;
        env.BUS_CHANNEL = redis.uniqueChannel('multi_node');
        redisAdmin = redis.connect();
      }
      const started = await Promise.all(
        [0, 1, 2].map((index) => startServiceNode(group, `node ${index}`, env)),
      );
      nodes.push(...started);
      // Every start rotates the demo merchant's key: a merchant of our own is stable.
      key = await registerMerchantKey(nodes[0]?.url ?? '', ADMIN_TOKEN);
    }, 60_000);

    afterAll(async () => {
      for (const socket of sockets) socket.terminate();
      await group.killAll();
      await admin?.end({ timeout: 1 });
      await redisAdmin?.quit();
      await database?.drop();
    }, 30_000);

    const alive = () => nodes.filter((node) => !node.killed);
    const node = (index: number, among = alive()): ServiceNode => {
      const found = among[index % among.length];
      if (!found) throw new Error('no node left');
      return found;
    };

    /** Creates one transaction per plan through rotating nodes, with a socket on every node. */
    async function setUp(plans: Plan[], extraSocket: boolean): Promise<Tx[]> {
      const txs = await Promise.all(
        plans.map(async (plan, index) => {
          const expiring = plan === 'expire' || plan === 'expire-then-pay';
          // Expiring ones get 2-3 s: time enough for every socket to see them pending.
          const id = await createTransaction(node(index).url, key, expiring ? 3 : 600);
          return { id, plan, index, sockets: [] as ResumableSocket[] };
        }),
      );
      for (const tx of txs) {
        const on = alive().map((_, n) => n);
        if (extraSocket) on.push(tx.index);
        on.forEach((n, k) => {
          const socket = new ResumableSocket(tx.id, `${tx.plan} #${tx.index} socket ${k}`);
          socket.connect(node(n).wsBase);
          tx.sockets.push(socket);
          sockets.push(socket);
        });
      }
      // Everyone has the pending snapshot before the first transition is made.
      await Promise.all(txs.flatMap((tx) => tx.sockets.map((socket) => socket.firstMessage())));
      return txs;
    }

    const pay = async (via: ServiceNode, tx: Tx) => {
      const answer = await request(via.url, 'POST', `/sandbox/transactions/${tx.id}/pay`);
      expect(answer.status, JSON.stringify(answer.body)).toBe(202);
    };
    const cancel = async (via: ServiceNode, tx: Tx) => {
      const answer = await request(via.url, 'POST', `${API}/transactions/${tx.id}/cancel`, { key });
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    };

    /** The transitions a plan makes itself (expiries happen on their own), through `via(step)`. */
    async function act(tx: Tx, via: (step: number) => ServiceNode): Promise<void> {
      if (tx.plan === 'settle') return pay(via(0), tx);
      if (tx.plan === 'cancel') return cancel(via(0), tx);
      if (tx.plan === 'cancel-then-pay') {
        await cancel(via(0), tx);
        return pay(via(1), tx);
      }
      if (tx.plan === 'expire-then-pay') {
        // Paid once the sweeper (on any node) has expired it: a late settlement.
        await waitFor(async () => (await statusOf(tx)) === 'expired', 'the expiry', 10_000, 25);
        return pay(via(0), tx);
      }
    }

    const statusOf = async (tx: Tx) => {
      const answer = await request(node(0).url, 'GET', `${API}/transactions/${tx.id}/status`, {
        key,
      });
      return answer.body.status;
    };

    /**
     * Waits for every socket to be closed by the server. A socket on a killed node, or whose
     * transaction was settled after the terminal status it got, resumes on another node with
     * `since` (its last version), until it has the final state.
     */
    async function finish(txs: Tx[]): Promise<void> {
      await Promise.all(
        txs.map(async (tx) => {
          const finalStatus = FINAL[tx.plan];
          await Promise.all(
            tx.sockets.map(async (socket, k) => {
              for (let resumes = 0; ; resumes++) {
                await socket.ended(15_000);
                const last = socket.messages.at(-1);
                if (socket.current?.close?.code === 1000 && last?.status === finalStatus) return;
                if (resumes >= 3) return; // the assertions below say what is wrong
                if (socket.current?.close?.code === 1000) {
                  // Terminal but not final: wait for the late settlement, then resume.
                  await waitFor(
                    async () => (await statusOf(tx)) === finalStatus,
                    `${tx.plan} #${tx.index} to be ${finalStatus}`,
                    10_000,
                    25,
                  );
                }
                socket.resume(node(tx.index + k + 1).wsBase);
              }
            }),
          );
        }),
      );
      const histories = await readHistories(database?.url ?? '', [...txs.map((tx) => tx.id)]);
      expect(txs.map((tx) => [tx.plan, histories.get(tx.id)?.at(-1)?.status])).toEqual(
        txs.map((tx) => [tx.plan, FINAL[tx.plan]]),
      );
      const problems = txs.flatMap((tx) =>
        tx.sockets.flatMap((socket) =>
          deliveryProblems(socket, histories.get(tx.id) ?? [], { fromVersion: 1 }),
        ),
      );
      expect(problems).toEqual([]);
    }

    /** Cuts every live node's bus subscription from the server side; returns how many it cut. */
    async function cutBus(): Promise<number> {
      const names = alive().map((n) => connectionName('listen', n.nodeId));
      if (bus.kind === 'postgres') {
        const sql = admin;
        if (!sql) throw new Error('no admin connection');
        const rows = await sql`
        select pg_terminate_backend(pid) as cut from pg_stat_activity
        where datname = current_database() and application_name in ${sql(names)}`;
        return rows.filter((row) => row.cut === true).length;
      }
      const client = redisAdmin;
      if (!client) throw new Error('no Redis admin connection');
      // CLIENT KILL TYPE pubsub, narrowed to this suite's subscribers by ID: other suites may be
      // using the same Redis at the same time.
      const list = (await client.call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string;
      const ids = list
        .split('\n')
        .filter((line) => names.some((name) => line.split(' ').includes(`name=${name}`)))
        .map((line) => /(?:^| )id=(\d+)/.exec(line)?.[1])
        .filter((id): id is string => id !== undefined);
      let cut = 0;
      for (const id of ids)
        cut += Number(await client.call('CLIENT', 'KILL', 'TYPE', 'pubsub', 'ID', id));
      return cut;
    }

    const reconnects = (n: ServiceNode) => metric(n.url, 'identipay_bus_reconnects_total');
    const leaderGauge = (n: ServiceNode) => metric(n.url, 'identipay_indexer_leader');

    it('delivers every transition to every socket on every node exactly once, in order', async () => {
      const plans: Plan[] = [
        'settle',
        'settle',
        'settle',
        'cancel',
        'cancel',
        'cancel',
        'cancel-then-pay',
        'cancel-then-pay',
        'expire',
        'expire',
        'expire',
        'expire-then-pay',
      ];
      const txs = await setUp(plans, true);
      // Each transition is made through another node than the one the proposal was made on.
      await Promise.all(txs.map((tx) => act(tx, (step) => node(tx.index + 1 + step))));
      await finish(txs);
    }, 40_000);

    it('misses no transition while the bus connections are cut', async () => {
      const before = await Promise.all(alive().map(reconnects));
      const plans: Plan[] = Array.from({ length: 12 }, (_, index) =>
        index % 3 === 2 ? 'cancel-then-pay' : index % 3 === 1 ? 'settle' : 'cancel',
      );
      const txs = await setUp(plans, false);
      let made = 0;
      // One transaction after another, each through the next node, while the test cuts the bus:
      // each waits for its first transition to reach the socket on the node that made it.
      const driving = (async () => {
        for (const tx of txs) {
          const via = (step: number) => node(tx.index + 1 + step);
          await act(tx, via);
          const local = tx.sockets[(tx.index + 1) % tx.sockets.length];
          await local?.until(() => (local.lastVersion ?? 0) >= 2, 'the first transition');
          made++;
        }
      })();
      driving.catch(() => {}); // awaited below; handled here so that it never floats
      let cuts = 0;
      for (const after of [2, 6]) {
        await waitFor(() => made >= after, `${after} transactions moved`);
        expect(await cutBus()).toBe(alive().length);
        cuts++;
        // Re-subscribed (and so resynced) everywhere before the next cut, which would miss it.
        await waitFor(
          async () => {
            const now = await Promise.all(alive().map(reconnects));
            return now.every((count, n) => (count ?? 0) >= (before[n] ?? 0) + cuts);
          },
          `every node to re-subscribe after cut ${cuts}`,
          15_000,
          25,
        );
      }
      await driving;
      await finish(txs);
    }, 40_000);

    it('moves the indexer role when its node is killed; its sockets resume on the others', async () => {
      await waitFor(
        async () =>
          (await Promise.all(alive().map(leaderGauge))).filter((v) => v === 1).length === 1,
        'exactly one indexer',
        10_000,
        50,
      );
      const gauges = await Promise.all(alive().map(leaderGauge));
      const leader = alive()[gauges.indexOf(1)];
      if (!leader) throw new Error('no leader');
      const survivors = alive().filter((n) => n !== leader);

      const plans: Plan[] = ['settle', 'settle', 'settle', 'cancel', 'cancel', 'cancel'];
      const txs = await setUp(plans, false);
      const onLeader = txs.flatMap((tx) =>
        tx.sockets.filter((socket) => socket.current?.url.startsWith(`${leader.wsBase}/`)),
      );
      // Cancels through the survivors race the kill: the leader's sockets may or may not get them.
      const cancels = txs
        .filter((tx) => tx.plan === 'cancel')
        .map((tx) => act(tx, (step) => node(tx.index + step, survivors)));
      await leader.process.kill('SIGKILL');
      leader.killed = true;
      await Promise.all(cancels);

      await waitFor(
        async () =>
          (await Promise.all(survivors.map(leaderGauge))).filter((v) => v === 1).length === 1,
        'one survivor to take the indexer role',
        20_000,
        50,
      );
      // New payments, made through the survivors, are indexed by the new leader.
      await Promise.all(
        txs
          .filter((tx) => tx.plan === 'settle')
          .map((tx) => act(tx, (step) => node(tx.index + step, survivors))),
      );
      await finish(txs);
      // The pending ones had to resume somewhere else, from the version they had.
      const resumed = onLeader.filter((socket) => socket.connections.length > 1);
      expect(resumed.length).toBeGreaterThanOrEqual(3);
      for (const socket of resumed) {
        expect(socket.connections[0]?.close?.code).not.toBe(1000);
        expect(socket.connections[1]?.since).toBe(socket.connections[0]?.messages.at(-1)?.version);
      }
    }, 40_000);
  });
});

describe.skipIf(!pg.available)('nodes starting together on a new database', () => {
  it('share one demo merchant instead of failing on its hostname', async () => {
    const database = await pg.createDatabase();
    const stores = await Promise.all(
      [0, 1, 2].map(() => openStore({ kind: 'postgres', url: database.url, maxConnections: 2 })),
    );
    try {
      const prepared = await Promise.all(
        stores.map((store) => prepareDemoMerchant(store, new Date())),
      );
      expect(new Set(prepared.map((merchant) => merchant.merchantId)).size).toBe(1);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
      await database.drop();
    }
  });
});
