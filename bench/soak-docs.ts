/**
 * The soak's sections of docs/benchmarks.md: what a run does, and its summary table. The Redis
 * run (the default) keeps the section it always had; a Postgres-bus run has its own.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { format } from 'prettier';
import { PROJECT_ROOT } from '../src/config/index.js';
import { machine } from './report.js';
import { CALM_CHURN_FACTOR, GROWTH_MARGIN, HEAP_MARGIN, marginText } from './soak-report.js';

/** What the soak does, as its Redis section of docs/benchmarks.md says it. */
function describeRedisRun(): string[] {
  return [
    '`npm run soak` (not part of `npm test`; `SOAK_SECONDS`, default 180, or `-- --short` for',
    '45): three nodes on one Postgres database, a Redis bus on a redis-server of its own and a',
    'standalone sandbox chain with fault injection on (`SANDBOX_CHAIN_FAULTS=1`). Load, at the',
    'rates in the table: purchases (a proposal; two SDK watchers whose every (re)connect goes',
    'to a live node, resuming with `since`; a sandbox payment 0.5-6 s later, every tenth one',
    '15-30 s later) and churning sockets (connect, first status, disconnect), spread over the',
    'nodes. Three rounds: a warm-up; the faults, one at a time, each several times (the',
    'redis-server SIGKILLed and restarted 3 s later; a node SIGKILLed, still sent traffic for 1 s',
    'as by a load balancer that has not noticed, and restarted on its port 3 s later, the indexer',
    "leader every other time; the chain's GraphQL endpoint answering 500 for 5 s, or stalling",
    "for 5 s or 13 s, over the nodes' 10 s request timeout); then a fault-free round with",
    `${CALM_CHURN_FACTOR} times the churn. After each round everything in flight finishes, every socket closes and`,
    "each node's heap is read after a forced GC (through the inspector). Recovery is timed to",
    "every node ready (bus), the restarted node ready (kill), the indexer at the chain's tip",
    '(chain). Checks: every paid proposal settled exactly once in the store (one `settled`',
    'event, the digest the payment answered with, no anomaly); every watcher received its',
    `settlement, no version twice; each never-killed node back within ${marginText(HEAP_MARGIN)}`,
    'of its baseline after the faults; no node grown by more than',
    `${marginText(GROWTH_MARGIN)} over the fault-free round (a leak of 4 KiB a socket shows there).`,
  ];
}

function describePostgresRun(): string[] {
  return [
    "`SOAK_BUS=postgres npm run soak`: the soak above with the Postgres bus, on the run's own",
    'database, instead of Redis; the indexer tells the other nodes of a batch with the NOTIFY',
    "inside the batch's transaction. Its bus fault cuts every connection to that database and",
    "refuses new ones for 3 s (`ALLOW_CONNECTIONS false`): the store's pools, the indexer's",
    "lock and the bus's listener drop at once, as in a Postgres restart (the machine's Postgres",
    'serves others, so it is not restarted). Same load, other faults and checks.',
  ];
}

/** Replaces the soak's section for `bus` in docs/benchmarks.md (appended the first time). */
export async function writeDocs(table: string, bus: string): Promise<void> {
  const redis = bus === 'Redis';
  // The Redis section keeps the markers it always had.
  const START = redis ? '<!-- soak:start -->' : `<!-- soak-${bus.toLowerCase()}:start -->`;
  const END = redis ? '<!-- soak:end -->' : `<!-- soak-${bus.toLowerCase()}:end -->`;
  const file = path.join(PROJECT_ROOT, 'docs', 'benchmarks.md');
  const section = await format(
    [
      START,
      '',
      redis ? '## Soak' : `## Soak, ${bus} bus`,
      '',
      ...(redis ? describeRedisRun() : describePostgresRun()),
      '',
      `Last run: ${machine()}.`,
      '',
      table,
      '',
      END,
    ].join('\n'),
    { parser: 'markdown' },
  );
  const current = await readFile(file, 'utf8');
  const start = current.indexOf(START);
  const end = current.indexOf(END);
  const next =
    start !== -1 && end > start
      ? `${current.slice(0, start)}${section.trimEnd()}${current.slice(end + END.length)}`
      : `${current.trimEnd()}\n\n${section}`;
  await writeFile(file, next);
}
