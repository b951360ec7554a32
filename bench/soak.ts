/**
 * `npm run soak`: minutes of steady load on three nodes while the bus engine goes away, nodes are
 * SIGKILLed and the chain errors and stalls; then exactly-once settlement, delivery to every
 * watcher and memory are checked. Exits 1 when a check fails. Not part of `npm test`.
 *
 *   start cluster ─► warm-up round ─► drain ─► GC, heap baseline
 *     ─► round with the fault schedule ─► drain ─► GC, heap after faults
 *     ─► fault-free round ─► drain ─► GC, heap end ─► checks ─► summary (+ docs)
 *
 * Environment: SOAK_SECONDS (default 180; `--short`: 45), SOAK_PURCHASES_PER_SECOND (2),
 * SOAK_CHURN_PER_SECOND (20), SOAK_BUS (redis, the default, or postgres: see soak-bus.ts),
 * DATABASE_URL (the Postgres to create the run's database on).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { registerMerchantKey } from '../test/support/cluster.js';
import { ADMIN_URL, postgresForTests, type TestDatabase } from '../test/support/postgres.js';
import { ensureBuilt } from '../test/support/process.js';
import {
  HEAP_USED,
  crashes,
  forceGc,
  freePort,
  isLeader,
  isReady,
  killAll,
  newNode,
  scrape,
  startChain,
  startNode,
  until,
  type SoakNode,
} from './soak-cluster.js';
import { postgresSoakBus, redisSoakBus, soakBusKind, type SoakBus } from './soak-bus.js';
import { writeDocs } from './soak-docs.js';
import { FaultInjector, faultSchedule } from './soak-faults.js';
import { Load, delay } from './soak-load.js';
import {
  CALM_CHURN_FACTOR,
  heapChecks,
  seenDelays,
  settledExactlyOnce,
  summaryMarkdown,
  watchersSawIt,
  type Check,
  type HeapFigures,
} from './soak-report.js';

const ADMIN_TOKEN = `soak-admin-${randomBytes(12).toString('hex')}`;
const short = process.argv.includes('--short');
const seconds = Number(process.env.SOAK_SECONDS ?? (short ? 45 : 180));
const purchasesPerSecond = Number(process.env.SOAK_PURCHASES_PER_SECOND ?? 2);
const churnPerSecond = Number(process.env.SOAK_CHURN_PER_SECOND ?? 20);
const busKind = soakBusKind(process.env.SOAK_BUS);
const DRAIN_TIMEOUT_MS = 90_000;
const OPEN_SOCKETS = 'identipay_ws_open_sockets';

async function main(): Promise<number> {
  if (!(seconds >= 20)) throw new Error('SOAK_SECONDS must be at least 20');
  ensureBuilt();
  const pg = await postgresForTests();
  if (!pg.available) throw new Error(pg.reason);
  const database = await pg.createDatabase();
  const logDir = mkdtempSync(path.join(tmpdir(), 'identipay-soak-'));
  console.log(`[soak] ${seconds} s; logs in ${logDir}`);
  const stopOnSignal = () => void cleanUp(database).then(() => process.exit(130));
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  try {
    return await Promise.race([soak(database, logDir), crashes()]);
  } finally {
    await cleanUp(database);
  }
}

async function cleanUp(database: TestDatabase): Promise<void> {
  await killAll();
  await database.drop().catch((error: unknown) => console.error(`[soak] drop: ${String(error)}`));
}

async function soak(database: TestDatabase, logDir: string): Promise<number> {
  const startedAt = Date.now();
  const bus: SoakBus =
    busKind === 'postgres' ? postgresSoakBus(database.url, ADMIN_URL) : await redisSoakBus(logDir);
  const chain = await startChain(logDir);
  const nodeEnv: Record<string, string> = {
    DATABASE_URL: database.url,
    ...bus.env,
    SANDBOX_CHAIN_URL: chain.url,
    ADMIN_TOKEN,
    LOG_LEVEL: 'info',
    // One machine opens every socket: the per-IP limits would refuse the load.
    WS_MAX_SOCKETS_PER_IP: '100000',
    WS_UPGRADES_PER_MINUTE_PER_IP: '0',
  };
  const nodes: SoakNode[] = [];
  for (const name of ['node-0', 'node-1', 'node-2']) nodes.push(newNode(name, await freePort()));
  // node-0 first, so that it holds the indexer role when the first kill comes.
  for (const node of nodes) {
    await startNode(node, nodeEnv, logDir);
    await until(() => isReady(node), `${node.name} ready`, 30_000);
    node.up = true;
    if (node === nodes[0]) await until(() => isLeader(node), 'node-0 to lead', 30_000);
  }
  const key = await registerMerchantKey(nodes[0]?.url ?? '', ADMIN_TOKEN);
  const load = new Load(nodes, key);
  const heaps = new Map<SoakNode, HeapFigures>(
    nodes.map((node) => [node, { node: node.name, restarts: 0, peak: 0 }]),
  );
  const sample = setInterval(() => sampleHeapPeaks(heaps), 2_000);
  /** Runs the load for `ms` (and `during` meanwhile), then lets everything in flight finish. */
  const round = async (ms: number, during = () => delay(ms), churn = churnPerSecond) => {
    const started = Date.now();
    load.start(purchasesPerSecond, churn, started + ms);
    await during();
    await delay(Math.max(0, started + ms - Date.now()));
    load.pause();
    return drain(load);
  };

  const warmUpMs = Math.min(20_000, seconds * 150);
  const phaseMs = seconds * 1000 - 2 * warmUpMs;
  console.log(`[soak] warm-up ${warmUpMs / 1000} s`);
  const warmedUp = await round(warmUpMs);
  await recordHeaps(heaps, 'baseline');

  console.log(`[soak] load and faults for ${phaseMs / 1000} s`);
  const faults = new FaultInjector({
    nodes,
    nodeEnv,
    logDir,
    bus,
    chainUrl: chain.url,
    startedAt,
  });
  const faulted = await round(phaseMs, async () => {
    const phaseStart = Date.now();
    for (const { atMs, kind } of faultSchedule(phaseMs)) {
      await delay(Math.max(0, phaseStart + atMs - Date.now()));
      await faults.inject(kind);
    }
  });
  for (const node of nodes) (heaps.get(node) as HeapFigures).restarts = node.restarts;
  await recordHeaps(heaps, 'afterFaults');

  // The load again without faults, five times the churn: every code path is warm by now, so a
  // heap that still grows over it grows with the sockets served (a leak), restarted nodes too.
  console.log(`[soak] fault-free round: ${warmUpMs / 1000} s`);
  const before = new Map(load.socketsByNode);
  const calm = await round(warmUpMs, undefined, CALM_CHURN_FACTOR * churnPerSecond);
  for (const [node, figures] of heaps) {
    figures.calmSockets = (load.socketsByNode.get(node.name) ?? 0) - (before.get(node.name) ?? 0);
  }
  clearInterval(sample);
  await recordHeaps(heaps, 'end');
  const checks: Check[] = [
    {
      name: 'all sockets closed',
      ok: warmedUp && faulted && calm,
      detail:
        warmedUp && faulted && calm ? 'server gauges 0 after each round' : 'a drain timed out',
    },
  ];
  const paid = load.purchases.filter((purchase) => purchase.paid);
  const settled = await settledExactlyOnce(database.url, paid);
  const delivery = watchersSawIt(paid);
  const failed = load.stats.purchasesFailed;
  checks.push(
    {
      name: 'every purchase made',
      ok: failed === 0,
      detail: `${load.stats.purchasesStarted - failed} of ${load.stats.purchasesStarted}`,
    },
    settled.check,
    ...delivery.checks,
    ...heapChecks([...heaps.values()]),
  );

  const table = summaryMarkdown({
    purchasesPerSecond,
    churnPerSecond,
    loadSeconds: seconds,
    wallSeconds: (Date.now() - startedAt) / 1000,
    nodes: nodes.length,
    bus: bus.name,
    settlements: paid.length,
    socketsOpened: load.stats.churnOpened + load.stats.watcherConnections,
    churnFailed: load.stats.churnFailed,
    resumed: delivery.resumed,
    watchers: paid.reduce((sum, purchase) => sum + purchase.watchers.length, 0),
    delays: seenDelays(paid, settled.settledAt),
    faults: faults.records,
    heaps: [...heaps.values()],
    checks,
  });
  console.log(`\n${table}\n`);
  console.log(`[soak] load: ${JSON.stringify(load.stats)}`);
  if (!short) await writeDocs(table, bus.name);
  const failing = checks.filter((check) => !check.ok);
  console.log(
    failing.length === 0
      ? '[soak] all checks passed'
      : `[soak] ${failing.length} checks FAILED; logs in ${logDir}`,
  );
  return failing.length === 0 ? 0 : 1;
}

/** Each live node's heap after a forced GC, once its sockets are all closed (else none). */
async function recordHeaps(
  heaps: Map<SoakNode, HeapFigures>,
  field: 'baseline' | 'afterFaults' | 'end',
): Promise<void> {
  for (const [node, figures] of heaps) {
    if (!node.up) continue;
    try {
      const idle = async () => (await scrape(node)).get(OPEN_SOCKETS) === 0;
      await until(idle, `${node.name} to have no socket open`, 20_000);
      await forceGc(node);
      figures[field] = (await scrape(node)).get(HEAP_USED);
    } catch (error) {
      console.error(`[soak] no heap figure for ${node.name}: ${(error as Error).message}`);
    }
  }
}

/** The highest heap seen on each node (no forced GC): sampled every few seconds. */
function sampleHeapPeaks(heaps: Map<SoakNode, HeapFigures>): void {
  for (const [node, figures] of heaps) {
    if (!node.up) continue;
    scrape(node).then(
      (series) => (figures.peak = Math.max(figures.peak, series.get(HEAP_USED) ?? 0)),
      () => {}, // killed meanwhile
    );
  }
}

/** Lets every purchase and socket in flight finish; false (watchers stopped) on a timeout. */
async function drain(load: Load): Promise<boolean> {
  try {
    await withTimeout(load.drain(), DRAIN_TIMEOUT_MS, 'the load to drain');
    return true;
  } catch (error) {
    console.error(`[soak] ${(error as Error).message}`);
    load.abortAll();
    return false;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error('[soak] failed:', error);
    void killAll().then(() => process.exit(1));
  },
);
