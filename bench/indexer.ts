/**
 * Indexer benchmarks (issue 3): settlements per second applied end to end from the sandbox
 * chain, and the time from a settlement's checkpoint to the watching client's message.
 *
 *   npm run bench -- indexer            (PGlite; Postgres too when DATABASE_URL is set)
 */
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import WebSocket from 'ws';
import { createLocalBus } from '../src/bus/index.js';
import { createChainSource, startSandboxChain } from '../src/chain/index.js';
import { loadConfig } from '../src/config/index.js';
import { settlementCursorName, soleLeadership, startIndexer } from '../src/indexer/index.js';
import { startNode } from '../src/node.js';
import { openStore, type DatabaseLocation } from '../src/store/index.js';
import { percentile, type Row } from './report.js';

const silent = pino({ level: 'silent' });
const SUI = `0x${'0'.repeat(63)}2::sui::SUI`;

/** N proposals paid on the chain first, then one indexer catches up on all of them. */
export async function indexerThroughput(location: DatabaseLocation, count: number): Promise<Row> {
  const chain = await startSandboxChain({ checkpointIntervalMs: 250 });
  const store = await openStore(location);
  const merchant = {
    id: randomUUID(),
    name: 'Bench',
    suiAddress: `0x${'be'.repeat(32)}`,
    hostname: `bench-${randomUUID()}.example`,
    publicKey: 'ab'.repeat(32),
    createdAt: new Date(),
  };
  await store.merchants.create({ ...merchant, apiKeyHash: randomUUID() });
  const intents: string[] = [];
  for (let i = 0; i < count; i++) {
    const intentHash = Buffer.from(randomUUID().replace(/-/g, '').repeat(2), 'hex').toString('hex');
    intents.push(intentHash);
    await store.proposals.create({
      transactionId: randomUUID(),
      merchantId: merchant.id,
      intentHash,
      document: {},
      currency: 'SUI',
      coinType: SUI,
      amountBaseUnits: 1000n,
      merchantSuiAddress: merchant.suiAddress,
      createdAt: new Date(),
      expiresAt: new Date(Date.now() + 3_600_000),
    });
  }
  const start = chain.latestCheckpoint();
  await Promise.all(
    intents.map((intentHash) =>
      chain.pay({ intentHash, merchant: merchant.suiAddress, amount: 1000n, coinType: SUI }),
    ),
  );
  await store.database.db.execute(
    `insert into indexer_cursor (name, checkpoint, updated_at) values ('${settlementCursorName(chain.chainIdentifier)}', ${start}, now()) on conflict (name) do update set checkpoint = ${start}`,
  );

  const source = createChainSource(
    loadConfig({ SANDBOX_CHAIN_URL: chain.url, CHAIN_POLL_MS: '50' }),
    { logger: silent },
  );
  let settled = 0;
  const bus = createLocalBus('bench');
  const done = new Promise<void>((resolve) =>
    bus.subscribe((states) => {
      settled += states.length;
      if (settled >= count) resolve();
    }),
  );
  const began = performance.now();
  const indexer = startIndexer({
    store,
    source,
    bus,
    leadership: soleLeadership(),
    logger: silent,
  });
  await done;
  const seconds = (performance.now() - began) / 1000;
  await indexer.stop();
  await store.close();
  await chain.stop();
  return {
    figure: `indexer throughput (${location.kind}, ${count} settlements)`,
    value: count / seconds,
    unit: 'settlements/s',
  };
}

/** Sockets watch N proposals; each is paid; checkpoint timestamp → message arrival. */
export async function checkpointToClient(
  location: DatabaseLocation,
  count: number,
  pollMs: number,
): Promise<Row[]> {
  const config = loadConfig({
    PORT: '0',
    ADMIN_TOKEN: 'bench-admin-token-000000',
    CHAIN_POLL_MS: String(pollMs),
  });
  const node = await startNode(config, {
    logger: silent,
    database: location,
    sandboxChainDataFile: false,
  });
  const key = node.demoMerchant?.apiKey ?? '';
  const latencies: number[] = [];
  const wsBase = node.url.replace('http', 'ws');
  for (let i = 0; i < count; i++) {
    const created = await fetch(`${node.url}/api/identipay/v1/proposals`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        items: [{ name: 'x', quantity: 1, unitPrice: '1' }],
        amount: { value: '1', currency: 'USDC' },
        deliverables: { receipt: true },
      }),
    });
    const { transactionId } = (await created.json()) as { transactionId: string };
    const ws = new WebSocket(`${wsBase}/ws/transactions/${transactionId}`);
    const settlement = new Promise<number>((resolve) =>
      ws.on('message', (data) => {
        if (String(data).includes('"settlement"')) resolve(Date.now());
      }),
    );
    await new Promise((resolve) => ws.once('message', resolve));
    await fetch(`${node.url}/sandbox/transactions/${transactionId}/pay`, { method: 'POST' });
    const arrived = await settlement;
    const state = await node.store.proposals.state(transactionId);
    latencies.push(arrived - (state?.settledAt?.getTime() ?? arrived));
    ws.close();
  }
  await node.stop();
  return [
    {
      figure: `checkpoint → client message p50 (${location.kind}, poll ${pollMs} ms)`,
      value: percentile(latencies, 50),
      unit: 'ms',
    },
    {
      figure: `checkpoint → client message p99 (${location.kind}, poll ${pollMs} ms)`,
      value: percentile(latencies, 99),
      unit: 'ms',
    },
  ];
}
