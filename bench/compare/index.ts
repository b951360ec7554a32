/**
 * `npm run bench -- compare` (issue 7): the service side by side with the seed's reference
 * design, measured with the same load generator on loopback.
 *
 * One scenario per system and scale: T transactions with two sockets each (S = 2T), opened in
 * two passes (one socket per transaction, then the second: half the connects find their
 * transaction already watched); then, at rest, server memory; then N settlements at once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LoadGenerators } from '../load/index.js';
import { cpuSeconds, measureMemory, openFiles } from '../load/processes.js';
import type { Received } from '../load/protocol.js';
import { percentile } from '../report.js';
import type { BenchSystem } from './systems.js';

export interface ScenarioFigures {
  system: string;
  sockets: number;
  processes: number;
  connectsPerSecond: number;
  connectP50Ms: number;
  connectP99Ms: number;
  /** Server CPU time (all its processes) per connect, and the load generator's. */
  serverCpuPerConnectUs: number;
  generatorCpuPerConnectUs: number;
  failed: number;
  /** The share of the measured sockets the busiest server process holds (1 with one process). */
  busiestShare: number;
  /** Server CPU while the sockets sit idle (heartbeats, timers, the indexer's polling). */
  idleCpuPercent: number;
  rssPerSocketBytes: number;
  heapPerSocketBytes: number;
  fanOut: {
    /** Settlements at once, in each of `bursts` bursts. */
    settlements: number;
    bursts: number;
    delivered: number;
    p50Ms: number;
    p99Ms: number;
    maxMs: number;
    /** Commit → the service's push stamp (ms resolution), median; NaN for the reference. */
    pushP50Ms: number;
    /** Server CPU time from the settle until the last message arrived, per message. */
    serverCpuPerMessageUs: number;
  };
}

export interface ScenarioOptions {
  sockets: number;
  settlements: number;
  /** Fan-outs measured, one after the other, each on `settlements` other transactions. */
  bursts: number;
  /** Connects in flight at once across every generator. */
  window: number;
}

/** Sockets at rest before memory is measured; the server's CPU meanwhile is its idle load. */
const IDLE_MS = 3000;

/** Between two bursts: the last one's sockets closed (the service closes within 1 s). */
const BETWEEN_BURSTS_MS = 2000;

/** Sockets on other transactions opened first, as a share of the measured ones. */
const WARM_UP_SHARE = 0.2;

function warmUpTransactions(sockets: number): number {
  return Math.round((sockets * WARM_UP_SHARE) / 2);
}

/** Every socket a scenario opens, the warm-up's included. */
export function totalSockets(sockets: number): number {
  return sockets + 2 * warmUpTransactions(sockets);
}

/** The largest per-process share of the files opened between two counts (the sockets). */
function busiestProcessShare(before: Map<number, number>, after: Map<number, number>): number {
  const opened = [...after].map(([pid, files]) => Math.max(0, files - (before.get(pid) ?? 0)));
  const total = opened.reduce((sum, count) => sum + count, 0);
  return total > 0 ? Math.max(...opened) / total : Number.NaN;
}

/** Lets the servers finish what the last step started (closing handshakes, timers). */
const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runScenario(
  system: BenchSystem,
  options: ScenarioOptions,
): Promise<ScenarioFigures> {
  const transactions = options.sockets / 2;
  const warmUp = warmUpTransactions(options.sockets);
  const created = await system.create(warmUp + transactions);
  const ids = created.slice(warmUp);
  // Creating them churned memory the sockets would then reuse: measure from a fresh start.
  await system.restart?.();
  const total = totalSockets(options.sockets);
  const generators = await LoadGenerators.start(total);
  try {
    // Other transactions, the same way: code is compiled (JavaScript and WebAssembly) and
    // tables sized before the measured sockets, whose figures are then the steady state's.
    const warm = created.slice(0, warmUp);
    await generators.connect(
      [...warm, ...warm].map((id) => system.url(id)),
      options.window,
      total,
    );
    // And one burst on half of them, unmeasured: the first settle of a run warms what a
    // settle runs (the bus's statement, the decoding, the fan-out), in both servers.
    const warmBurst = warm.slice(0, Math.min(options.settlements, Math.floor(warmUp / 2)));
    const warmReceipts = generators.collect(
      warmBurst.flatMap((_, i) => [i, warmUp + i]),
      60_000,
    );
    await system.settle(warmBurst);
    await warmReceipts;
    await settle(BETWEEN_BURSTS_MS);
    const before = await measureMemory(system.roots());
    const filesBefore = openFiles(system.roots());
    // Profiles (BENCH_CPU_PROF) share this monotonic clock in µs: these mark the phases in them.
    const mark = (phase: string) => {
      if (process.env.BENCH_CPU_PROF)
        console.log(`phase ${phase} ${process.hrtime.bigint() / 1000n}`);
    };
    mark('connect');
    const cpuBefore = cpuSeconds(system.roots());
    const generatorCpuBefore = cpuSeconds(generators.pids);
    const urls = [...ids, ...ids].map((id) => system.url(id));
    const connected = await generators.connect(urls, options.window, total);
    const serverCpu = cpuSeconds(system.roots()) - cpuBefore;
    const generatorCpu = cpuSeconds(generators.pids) - generatorCpuBefore;
    mark('connected');
    if (connected.failed > 0) {
      console.warn(`${system.label}: ${connected.failed} sockets failed`, connected.errors);
    }
    const busiestShare = busiestProcessShare(filesBefore, openFiles(system.roots()));
    const idleCpuBefore = cpuSeconds(system.roots());
    await settle(IDLE_MS);
    const idleCpu = cpuSeconds(system.roots()) - idleCpuBefore;
    const after = await measureMemory(system.roots());

    // Bursts one after the other, on other transactions each: one burst's timings move with
    // whatever else the two cores did that moment; the figures pool every burst's messages.
    const received: Received[] = [];
    let fanOutCpu = 0;
    for (let burst = 0; burst < options.bursts; burst++) {
      if (burst > 0) await settle(BETWEEN_BURSTS_MS);
      // Settling transaction i notifies sockets i and T + i, after the warm-up's.
      const from = burst * options.settlements;
      const settled = ids.slice(from, from + options.settlements);
      const first = 2 * warmUp + from;
      const expected = settled.flatMap((_, i) => [first + i, first + transactions + i]);
      const collecting = generators.collect(expected, 60_000);
      const fanOutCpuBefore = cpuSeconds(system.roots());
      mark('settle');
      await system.settle(settled);
      received.push(...(await collecting).filter((item) => item.type === 'settlement'));
      fanOutCpu += cpuSeconds(system.roots()) - fanOutCpuBefore;
      mark('received');
    }
    const startedAt = await system.startTimes(received);
    const startOf = (item: Received) => startedAt.get(item.transactionId) ?? NaN;
    const latencies = received.map((item) => item.at - startOf(item));
    // The service stamps each message when it pushes it: commit → push is the pipeline's part.
    const pushDelays = received
      .filter((item) => item.pushedAt !== null)
      .map((item) => Date.parse(item.pushedAt ?? '') - startOf(item));
    return {
      system: system.label,
      sockets: options.sockets,
      processes: after.processes,
      connectsPerSecond: connected.perSecond,
      connectP50Ms: percentile(connected.firstMessageMs, 50),
      connectP99Ms: percentile(connected.firstMessageMs, 99),
      serverCpuPerConnectUs: (serverCpu / connected.opened) * 1e6,
      generatorCpuPerConnectUs: (generatorCpu / connected.opened) * 1e6,
      failed: connected.failed,
      busiestShare,
      idleCpuPercent: (idleCpu / (IDLE_MS / 1000)) * 100,
      rssPerSocketBytes: (after.rssBytes - before.rssBytes) / connected.opened,
      heapPerSocketBytes: (after.heapUsedBytes - before.heapUsedBytes) / connected.opened,
      fanOut: {
        settlements: options.settlements,
        bursts: options.bursts,
        delivered: received.length,
        p50Ms: percentile(latencies, 50),
        p99Ms: percentile(latencies, 99),
        maxMs: Math.max(...latencies),
        pushP50Ms: pushDelays.length > 0 ? percentile(pushDelays, 50) : Number.NaN,
        serverCpuPerMessageUs: (fanOutCpu / Math.max(1, received.length)) * 1e6,
      },
    };
  } finally {
    await generators.close();
  }
}

/** A fresh folder for an embedded database, removed by `cleanup`. */
export function scratchDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-compare-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
