/**
 * The hub's batched first reads (issue 7): CPU time of the service's own process per
 * transaction read by `proposals.states`, by batch size. On PGlite that is the whole read; on
 * Postgres the server's part runs elsewhere. Then what a node's preload of the open ones costs
 * (`Hub.preload` over `proposals.openStates`): CPU and heap per transaction, and its duration.
 *
 *   npm run bench -- store            (PGlite; Postgres too when DATABASE_URL is set)
 */
import { randomUUID } from 'node:crypto';
import { insertMerchant } from '../test/support/store.js';
import { Hub } from '../src/hub/index.js';
import { openStore, type DatabaseLocation, type Store } from '../src/store/index.js';
import { proposals } from '../src/store/schema.js';
import type { Row } from './report.js';

const STORED = 12_000;
const READ = 5_000;
const BATCH_SIZES = [1, 20, 100, 500];
/** Passes over the same ids per batch size; the first warms the query up and is not counted. */
const PASSES = 4;

export async function storeReads(location: DatabaseLocation): Promise<Row[]> {
  const store = await openStore(location);
  try {
    const merchant = await insertMerchant(store);
    const ids: string[] = [];
    for (let start = 0; start < STORED; start += 500) {
      const now = new Date();
      const inAnHour = new Date(now.getTime() + 3_600_000);
      const rows = Array.from({ length: 500 }, (_, i) => {
        const transactionId = randomUUID();
        ids.push(transactionId);
        // Half settled: their digest and settledAt are read too.
        const settled = i % 2 === 1;
        return {
          transactionId,
          merchantId: merchant.id,
          intentHash: transactionId,
          document: {},
          currency: 'SUI',
          coinType: '0x2::sui::SUI',
          amountBaseUnits: '1000',
          merchantSuiAddress: merchant.suiAddress,
          status: settled ? ('settled' as const) : ('pending' as const),
          version: settled ? 2 : 1,
          suiTxDigest: settled ? randomUUID() : null,
          settledAt: settled ? now : null,
          createdAt: now,
          updatedAt: now,
          expiresAt: settled ? now : inAnHour,
        };
      });
      await store.database.db.insert(proposals).values(rows);
    }
    const rows: Row[] = [];
    for (const size of BATCH_SIZES) {
      let cpuMicros = 0;
      let read = 0;
      for (let pass = 0; pass < PASSES; pass++) {
        const before = process.cpuUsage();
        for (let start = 0; start + size <= READ; start += size) {
          const states = await store.proposals.states(ids.slice(start, start + size));
          if (pass > 0) read += states.length;
        }
        const used = process.cpuUsage(before);
        if (pass > 0) cpuMicros += used.user + used.system;
      }
      rows.push({
        figure: `${location.kind}: states read ${size} at a time, CPU per transaction`,
        value: cpuMicros / read,
        unit: 'µs',
      });
    }
    rows.push(...(await preloadFigures(store, location.kind)));
    return rows;
  } finally {
    await store.close();
  }
}

/** Heap in use after a full collection (`npm run bench` runs with --expose-gc). */
function heapUsed(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
}

async function preloadFigures(store: Store, kind: string): Promise<Row[]> {
  const hub = new Hub({ loadState: async () => undefined });
  const heapBefore = heapUsed();
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const count = await hub.preload(store.proposals.openStates(new Date(), { max: STORED }));
  const cpu = process.cpuUsage(cpuBefore);
  const wallMs = performance.now() - started;
  const heap = heapUsed() - heapBefore;
  if (count !== STORED / 2) throw new Error(`preloaded ${count} of ${STORED / 2} open proposals`);
  const what = `${kind}: preload of ${count.toLocaleString('en')} open transactions`;
  return [
    { figure: `${what}, CPU per transaction`, value: (cpu.user + cpu.system) / count, unit: 'µs' },
    { figure: `${what}, heap per transaction`, value: heap / count, unit: 'B' },
    { figure: `${what}, duration`, value: wallMs, unit: 'ms' },
  ];
}
