/**
 * The `compare` suite: every scenario of bench/compare/index.ts for the reference and the
 * service, the median of `rounds` runs, as side-by-side tables (figure, each system, ratio
 * service/reference).
 *
 *   10,000 sockets: the reference (one process), the service on PGlite, and on Postgres when
 *                   DATABASE_URL is set.
 *   50,000 sockets: past one process's open files, so the reference as shards and the service
 *                   with WORKERS (needs Postgres): as shipped (round-robin, the cluster primary
 *                   accepts each connection) and with the workers accepting themselves
 *                   (NODE_CLUSTER_SCHED_POLICY=none); skipped, with the reason printed, when
 *                   the machine cannot (file limit, loopback addresses, no DATABASE_URL).
 */
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { postgresForTests } from '../../test/support/postgres.js';
import { ensureBuilt } from '../../test/support/process.js';
import { indexerThroughput } from '../indexer.js';
import { MAX_SOCKETS_PER_GENERATOR } from '../load/index.js';
import { removeProbeFiles } from '../load/processes.js';
import { runScenario, scratchDir, totalSockets, type ScenarioFigures } from './index.js';
import { startReference, startService, type BenchSystem } from './systems.js';
import { compareTable, type Column } from './table.js';

export interface CompareOptions {
  rounds: number;
  /** Settlements at once in the fan-out, in each of `bursts` bursts. */
  settlements: number;
  bursts: number;
  small: number;
  large: number;
}

export const DEFAULT_COMPARE: CompareOptions = {
  rounds: Number(process.env.BENCH_ROUNDS ?? 3),
  settlements: 1_000,
  bursts: 3,
  small: 10_000,
  large: 50_000,
};

/** Connects in flight at once, across the load generators. */
const WINDOW = 512;

type Start = () => Promise<{ system: BenchSystem; cleanup: () => Promise<void> }>;

async function measure(start: Start, sockets: number, options: CompareOptions) {
  const { system, cleanup } = await start();
  try {
    const { settlements, bursts } = options;
    return await runScenario(system, { sockets, settlements, bursts, window: WINDOW });
  } finally {
    await system.stop();
    await cleanup();
  }
}

async function database(): Promise<{ url: string; drop: () => Promise<void> } | undefined> {
  if (!process.env.DATABASE_URL) return undefined;
  const pg = await postgresForTests();
  return pg.available ? pg.createDatabase() : undefined;
}

const reference =
  (shards: number): Start =>
  async () => ({ system: await startReference(shards), cleanup: async () => {} });

const service =
  (kind: 'pglite' | 'postgres', workers = 1, workersAccept = false): Start =>
  async () => {
    const scratch = scratchDir();
    const db = kind === 'postgres' ? await database() : undefined;
    const system = await startService({
      dataDir: scratch.dir,
      databaseUrl: db?.url,
      workers,
      workersAccept,
    });
    return {
      system,
      cleanup: async () => {
        await db?.drop();
        scratch.cleanup();
      },
    };
  };

/** One run on one line, for the console (the tables show medians). */
function summary(f: ScenarioFigures): string {
  const ms = (value: number) => `${value.toFixed(1)} ms`;
  return (
    `${Math.round(f.connectsPerSecond)} connects/s (first message p50 ${ms(f.connectP50Ms)}), ` +
    `${Math.round(f.serverCpuPerConnectUs)} µs CPU each; ` +
    `${(f.rssPerSocketBytes / 1000).toFixed(2)} KB RSS, ${(f.heapPerSocketBytes / 1000).toFixed(2)} KB heap per socket; ` +
    `fan-out p50 ${ms(f.fanOut.p50Ms)}, p99 ${ms(f.fanOut.p99Ms)} (${f.fanOut.delivered} messages)` +
    (f.failed > 0 ? `; ${f.failed} sockets failed` : '')
  );
}

/** Runs each system `rounds` times, interleaved (a noisy minute hits every system alike). */
async function rounds(
  systems: { label: string; start: Start }[],
  sockets: number,
  options: CompareOptions,
): Promise<Column[]> {
  const runs = systems.map(() => [] as ScenarioFigures[]);
  for (let round = 0; round < options.rounds; round++) {
    for (const [index, { label, start }] of systems.entries()) {
      console.log(`compare: ${label}, ${sockets} sockets, round ${round + 1}/${options.rounds}`);
      const figures = await measure(start, sockets, options);
      runs[index]?.push(figures);
      console.log(`compare:   ${summary(figures)}`);
    }
  }
  return systems.map(({ label }, index) => ({ label, runs: runs[index] ?? [] }));
}

/** Why 50,000 sockets cannot run here, or undefined when they can. */
async function largeBlocked(options: CompareOptions): Promise<string | undefined> {
  if (!process.env.DATABASE_URL) return 'the service needs Postgres (DATABASE_URL) for WORKERS';
  const files = Number(execFileSync('sh', ['-c', 'ulimit -n']).toString().trim());
  if (Number.isFinite(files) && files < MAX_SOCKETS_PER_GENERATOR + 1_000) {
    return `this machine allows ${files} open files per process`;
  }
  const probe = createServer();
  const bound = await new Promise<boolean>((resolve) => {
    probe.once('error', () => resolve(false));
    probe.listen(0, '127.0.0.20', () => resolve(true));
  });
  probe.close();
  if (!bound) return 'loopback addresses other than 127.0.0.1 are not usable here';
  return options.large > 0 ? undefined : 'disabled';
}

export async function compareSuite(options: CompareOptions = DEFAULT_COMPARE): Promise<string> {
  ensureBuilt();
  const sections: string[] = [];
  try {
    const small = [
      { label: 'reference', start: reference(1) },
      { label: 'service, PGlite', start: service('pglite') },
    ];
    if (process.env.DATABASE_URL)
      small.push({ label: 'service, Postgres', start: service('postgres') });
    const smallColumns = await rounds(small, options.small, options);
    const indexer = [await indexerThroughput({ kind: 'pglite', dataDir: undefined }, 1000)];
    const db = await database();
    if (db) {
      indexer.push(await indexerThroughput({ kind: 'postgres', url: db.url }, 1000));
      await db.drop();
    }
    sections.push(
      `### ${options.small.toLocaleString('en')} sockets on ${(options.small / 2).toLocaleString('en')} transactions, one process each\n\n` +
        compareTable(
          smallColumns,
          indexer.map((row) => row.value),
        ),
    );

    const blocked = await largeBlocked(options);
    if (blocked) {
      console.log(`compare: ${options.large} sockets skipped: ${blocked}`);
      sections.push(
        `### ${options.large.toLocaleString('en')} sockets\n\nNot measured: ${blocked}.`,
      );
    } else {
      const processes = Math.ceil(totalSockets(options.large) / MAX_SOCKETS_PER_GENERATOR);
      const large = [
        { label: `reference, ${processes} shards`, start: reference(processes) },
        { label: `service, Postgres, ${processes} workers`, start: service('postgres', processes) },
        {
          label: `service, ${processes} workers accepting`,
          start: service('postgres', processes, true),
        },
      ];
      const largeColumns = await rounds(large, options.large, { ...options, rounds: 1 });
      sections.push(
        `### ${options.large.toLocaleString('en')} sockets on ${(options.large / 2).toLocaleString('en')} transactions, ${processes} processes each (one run)\n\n` +
          compareTable(largeColumns),
      );
    }
  } finally {
    removeProbeFiles();
  }
  return sections.join('\n\n');
}
