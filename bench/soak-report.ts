/**
 * The soak's verdicts and its summary: every paid proposal settled exactly once in the store,
 * every watcher saw its settlement (in order, without a repeated version), every socket closed
 * and each never-killed node's heap back near its baseline (soak-docs.ts writes the table to
 * docs/benchmarks.md).
 */
import postgres from 'postgres';
import { percentile } from './report.js';
import type { FaultKind, FaultRecord } from './soak-faults.js';
import type { Purchase } from './soak-load.js';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface HeapFigures {
  node: string;
  restarts: number;
  /** After the warm-up round, the fault round and the fault-free round (forced GC, no sockets). */
  baseline?: number;
  afterFaults?: number;
  end?: number;
  peak: number;
  /** Sockets opened on the node in the fault-free round. */
  calmSockets?: number;
}

/** The fault-free round churns this many times more sockets than the others. */
export const CALM_CHURN_FACTOR = 5;

/** After the faults, heap may exceed the baseline by this fraction of it plus these bytes. */
export const HEAP_MARGIN = { fraction: 0.05, bytes: 3 * 2 ** 20 };
/**
 * Over the fault-free round (hundreds of sockets a node), heap may grow by this much; a quiet
 * node's GC-to-GC noise is a few hundred KiB, and 4 KiB kept per socket crosses it.
 */
export const GROWTH_MARGIN = { fraction: 0, bytes: 1 * 2 ** 20 };

export async function settledExactlyOnce(
  databaseUrl: string,
  paid: readonly Purchase[],
): Promise<{ check: Check; settledAt: Map<string, number> }> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  const settledAt = new Map<string, number>();
  try {
    const rows = await sql<
      {
        id: string;
        status: string;
        digest: string | null;
        settledAt: Date | null;
        settled: number;
        events: number;
      }[]
    >`
      select p.transaction_id as id, p.status, p.sui_tx_digest as digest, p.settled_at as "settledAt",
        (select count(*)::int from status_events e
          where e.transaction_id = p.transaction_id and e.event = 'settled') as settled,
        (select count(*)::int from status_events e where e.transaction_id = p.transaction_id) as events
      from proposals p where p.transaction_id in ${sql(paid.map((purchase) => purchase.txId))}`;
    const [counted] = await sql<{ anomalies: number }[]>`
      select count(*)::int as anomalies from settlement_anomalies`;
    const anomalies = counted?.anomalies ?? 0;
    const byId = new Map(rows.map((row) => [row.id, row]));
    const problems: string[] = [];
    for (const purchase of paid) {
      const row = byId.get(purchase.txId);
      if (row?.settledAt) settledAt.set(purchase.txId, row.settledAt.getTime());
      const digestOk = purchase.digest === undefined || row?.digest === purchase.digest;
      if (row?.status === 'settled' && row.settled === 1 && row.events === 2 && digestOk) continue;
      problems.push(`${purchase.txId}: ${JSON.stringify(row ?? 'missing')}`);
    }
    if (anomalies > 0) problems.push(`${anomalies} settlement anomalies recorded`);
    const detail =
      problems.length === 0
        ? `${paid.length} of ${paid.length}, no anomalies`
        : `${problems.length} problems: ${problems.slice(0, 5).join('; ')}`;
    return {
      check: { name: 'settled exactly once', ok: problems.length === 0, detail },
      settledAt,
    };
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** Every watcher of a paid proposal ended on its settlement, and the wire never went backwards. */
export function watchersSawIt(paid: readonly Purchase[]): { checks: Check[]; resumed: number } {
  const watchers = paid.flatMap((purchase) => purchase.watchers);
  const missed = watchers.filter(
    (watcher) =>
      watcher.settledSeenAt === undefined ||
      watcher.final?.reason !== 'terminal' ||
      watcher.final.status !== 'settled',
  );
  const disordered = watchers.filter((watcher) => {
    const versions = watcher.connections.flatMap((connection) => connection.versions);
    return versions.some((version, index) => index > 0 && version <= (versions[index - 1] ?? 0));
  });
  const resumed = watchers.filter((watcher) =>
    watcher.connections.some((connection) => connection.since !== undefined),
  ).length;
  const describe = (list: typeof watchers) =>
    list
      .slice(0, 5)
      .map((w) => `${w.txId} ${JSON.stringify(w.final)} ${JSON.stringify(w.connections)}`)
      .join('; ');
  return {
    resumed,
    checks: [
      {
        name: 'every watcher saw its settlement',
        ok: missed.length === 0,
        detail:
          missed.length === 0
            ? `${watchers.length} of ${watchers.length}`
            : `${missed.length} of ${watchers.length} missed it: ${describe(missed)}`,
      },
      {
        name: 'no version repeated or out of order',
        ok: disordered.length === 0,
        detail: disordered.length === 0 ? 'none' : `${disordered.length}: ${describe(disordered)}`,
      },
    ],
  };
}

/** Milliseconds from each settlement's checkpoint to each watcher receiving it. */
export function seenDelays(paid: readonly Purchase[], settledAt: Map<string, number>): number[] {
  return paid.flatMap((purchase) =>
    purchase.watchers.flatMap((watcher) => {
      const at = settledAt.get(purchase.txId);
      return at === undefined || watcher.settledSeenAt === undefined
        ? []
        : [Math.max(0, watcher.settledSeenAt - at)];
    }),
  );
}

export function heapChecks(heaps: readonly HeapFigures[]): Check[] {
  const within = (from: number | undefined, to: number | undefined, margin: typeof HEAP_MARGIN) =>
    from !== undefined && to !== undefined && to <= from * (1 + margin.fraction) + margin.bytes;
  const describe = (list: readonly HeapFigures[], from: keyof HeapFigures, to: keyof HeapFigures) =>
    list
      .map((heap) => `${heap.node} ${mib(heap[from] as number)} → ${mib(heap[to] as number)}`)
      .join(', ');
  const neverKilled = heaps.filter((heap) => heap.restarts === 0);
  return [
    {
      name: 'heap back to baseline after the faults (never-killed nodes)',
      ok:
        neverKilled.length > 0 &&
        neverKilled.every((heap) => within(heap.baseline, heap.afterFaults, HEAP_MARGIN)),
      detail: `${describe(neverKilled, 'baseline', 'afterFaults')} MiB (margin ${marginText(HEAP_MARGIN)})`,
    },
    {
      name: 'no heap growth over the fault-free round (every node)',
      ok: heaps.every((heap) => within(heap.afterFaults, heap.end, GROWTH_MARGIN)),
      detail: `${describe(heaps, 'afterFaults', 'end')} MiB over ${heaps.map((heap) => heap.calmSockets ?? 0).join(', ')} sockets (margin ${marginText(GROWTH_MARGIN)})`,
    },
  ];
}

export function marginText(margin: typeof HEAP_MARGIN): string {
  return `${margin.fraction ? `${margin.fraction * 100} % + ` : ''}${mib(margin.bytes)} MiB`;
}

export function mib(bytes: number | undefined): string {
  return bytes === undefined ? '–' : (bytes / 2 ** 20).toFixed(1);
}

export interface Summary {
  purchasesPerSecond: number;
  churnPerSecond: number;
  loadSeconds: number;
  wallSeconds: number;
  nodes: number;
  /** The bus engine's name: Redis, Postgres. */
  bus: string;
  settlements: number;
  socketsOpened: number;
  churnFailed: number;
  resumed: number;
  watchers: number;
  delays: number[];
  faults: FaultRecord[];
  heaps: HeapFigures[];
  checks: Check[];
}

/** What recovery means for each kind of fault, for the table. */
const RECOVERY: Record<FaultKind, string> = {
  'node SIGKILL': 'restarted process ready (from spawn)',
  'bus engine outage': 'every node ready again after the engine was back',
  'chain error': "indexer at the chain's tip after the window",
  'chain stall': "indexer at the chain's tip after the window",
};

function faultRows(faults: readonly FaultRecord[]): [string, string][] {
  const kinds = [...new Set(faults.map((fault) => fault.kind))];
  return kinds.map((kind) => {
    const list = faults.filter((fault) => fault.kind === kind);
    const details = list.map((fault) => fault.detail.replace(/ \(.*\)$/, ''));
    const worst = (values: number[]) => `${(Math.max(...values) / 1000).toFixed(1)} s`;
    const failovers = list.flatMap((fault) =>
      fault.failoverMs === undefined ? [] : [fault.failoverMs],
    );
    const parts = [
      list.length > 1 && new Set(details).size === 1
        ? `×${list.length}, ${details[0]} each`
        : `×${list.length}: ${details.join('; ')}`,
      `${RECOVERY[kind]} ≤ ${worst(list.map((fault) => fault.recoveredMs))}`,
      ...(failovers.length ? [`indexer role moved ≤ ${worst(failovers)} after the kill`] : []),
    ];
    return [`fault: ${kind}`, parts.join('; ')];
  });
}

export function summaryMarkdown(summary: Summary): string {
  const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const rows: [string, string][] = [
    [
      'duration',
      `${summary.loadSeconds} s of load (${summary.wallSeconds.toFixed(0)} s with start-up and drains), ${summary.nodes} nodes, ${summary.bus} bus`,
    ],
    [
      'load',
      `${summary.purchasesPerSecond} purchases/s, ${summary.churnPerSecond} churning sockets/s (×${CALM_CHURN_FACTOR} in the fault-free round)`,
    ],
    ['settlements', String(summary.settlements)],
    [
      'sockets opened',
      `${summary.socketsOpened} (${summary.churnFailed} churning connects failed during faults)`,
    ],
    ['watchers', `${summary.watchers}, ${summary.resumed} resumed with \`since\``],
    [
      'checkpoint → watcher',
      `p50 ${seconds(percentile(summary.delays, 50))}, p99 ${seconds(percentile(summary.delays, 99))}, max ${seconds(Math.max(0, ...summary.delays))}`,
    ],
    ...faultRows(summary.faults),
    ...summary.heaps.map((heap): [string, string] => [
      `heap ${heap.node}`,
      `baseline ${mib(heap.baseline)}, after faults ${mib(heap.afterFaults)}, end ${mib(heap.end)}, peak ${mib(heap.peak)} MiB${heap.restarts ? ` (restarted ${heap.restarts}×: baseline is the first process's)` : ''}`,
    ]),
    ...summary.checks.map((check): [string, string] => [
      check.name,
      `${check.ok ? 'ok' : 'FAILED'}: ${check.detail}`,
    ]),
  ];
  return [
    '| figure | value |',
    '| --- | --- |',
    ...rows.map(([a, b]) => `| ${a} | ${b.replaceAll('|', '\\|')} |`),
  ].join('\n');
}
