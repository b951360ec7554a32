/**
 * `npm run bench [-- <suite>…]`: runs the benchmark suites, prints a table and rewrites the
 * matching section of docs/benchmarks.md. Not part of `npm test`: figures, not assertions.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { format } from 'prettier';
import { PROJECT_ROOT } from '../src/config/index.js';
import type { DatabaseLocation } from '../src/store/index.js';
import { atRest, proposalCreation } from './at-rest.js';
import { compareSuite } from './compare/suite.js';
import { currentHub, hubFigures } from './hub.js';
import { busLatency } from './bus.js';
import { checkpointToClient, indexerThroughput } from './indexer.js';
import { machine, table, type Row } from './report.js';
import { storeReads } from './store.js';
import { postgresForTests } from '../test/support/postgres.js';

async function locations(): Promise<{ location: DatabaseLocation; drop: () => Promise<void> }[]> {
  const list: { location: DatabaseLocation; drop: () => Promise<void> }[] = [
    { location: { kind: 'pglite', dataDir: undefined }, drop: async () => {} },
  ];
  if (process.env.DATABASE_URL) {
    const pg = await postgresForTests();
    if (pg.available) {
      const database = await pg.createDatabase();
      list.push({ location: { kind: 'postgres', url: database.url }, drop: database.drop });
    }
  }
  return list;
}

/** A suite returns rows for the plain table, or its own Markdown (compare's side-by-side tables). */
const SUITES: Record<string, { title: string; run: () => Promise<Row[] | string> }> = {
  hub: {
    title: 'Hub, in memory',
    run: () => hubFigures('current', currentHub),
  },
  indexer: {
    title: 'Indexer (issue 3)',
    async run() {
      const rows: Row[] = [];
      for (const { location, drop } of await locations()) {
        rows.push(await indexerThroughput(location, 1000));
        rows.push(...(await checkpointToClient(location, 100, 250)));
        rows.push(...(await checkpointToClient(location, 100, 50)));
        await drop();
      }
      return rows;
    },
  },
  store: {
    title: 'First reads, and the open transactions read at start (issue 7)',
    async run() {
      const rows: Row[] = [];
      for (const { location, drop } of await locations()) {
        rows.push(...(await storeReads(location)));
        await drop();
      }
      return rows;
    },
  },
  'at-rest': {
    title: 'Heartbeat at rest, proposal creation',
    async run() {
      const rows = await atRest();
      rows.push(...(await proposalCreation('pglite', undefined)));
      for (const { location, drop } of await locations()) {
        if (location.kind !== 'postgres') continue;
        rows.push(...(await proposalCreation('postgres', location.url)));
        await drop();
      }
      return rows;
    },
  },
  bus: {
    title: 'Cross-node delivery (issue 4)',
    run: () => busLatency(500, 10),
  },
  compare: {
    title: 'Service and reference design, side by side (issue 7)',
    run: () => compareSuite(),
  },
};

const prettierOptions = JSON.parse(
  await readFile(path.join(PROJECT_ROOT, '.prettierrc.json'), 'utf8'),
) as Record<string, unknown>;

async function writeSection(title: string, body: string): Promise<void> {
  const file = path.join(PROJECT_ROOT, 'docs', 'benchmarks.md');
  const current = await readFile(file, 'utf8').catch(() => '# Benchmarks\n');
  const start = `<!-- bench:${title} -->`;
  const end = `<!-- /bench:${title} -->`;
  const section = `${start}\n## ${title}\n\n${body}\n${end}`;
  // Section markers are matched literally, whatever the title contains.
  const from = current.indexOf(start);
  const to = current.indexOf(end, from);
  const next =
    from >= 0 && to >= 0
      ? current.slice(0, from) + section + current.slice(to + end.length)
      : `${current.trimEnd()}\n\n${section}\n`;
  // Formatted the way `npm test` checks it.
  await writeFile(file, await format(next, { ...prettierOptions, parser: 'markdown' }));
}

const requested = process.argv.slice(2).filter((arg) => arg !== '--');
for (const name of requested.length > 0 ? requested : Object.keys(SUITES)) {
  const suite = SUITES[name];
  if (!suite) throw new Error(`unknown suite ${name}; known: ${Object.keys(SUITES).join(', ')}`);
  const result = await suite.run();
  const text = typeof result === 'string' ? result : table(result);
  const body = `Measured on ${machine()}; reproduce with \`npm run bench -- ${name}\`.\n\n${text}\n`;
  console.log(`\n${suite.title}\n${text}`);
  await writeSection(suite.title, body);
}
process.exit(0);
