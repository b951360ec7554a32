/**
 * The hub's batched first reads (issue 7): CPU time of the service's own process per
 * transaction read by `proposals.states`, by batch size. On PGlite that is the whole read; on
 * Postgres the server's part runs elsewhere.
 *
 *   npm run bench -- store            (PGlite; Postgres too when DATABASE_URL is set)
 */
import { randomUUID } from 'node:crypto';
import { insertMerchant } from '../test/support/store.js';
import { openStore, type DatabaseLocation } from '../src/store/index.js';
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
          expiresAt: now,
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
    return rows;
  } finally {
    await store.close();
  }
}
