import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settlementAnomalies } from '../src/store/schema.js';
import { API } from './support/http.js';
import { createProposal, demoKey, startTestNode, type TestNode } from './support/node.js';
import { waitFor } from './support/wait.js';
import { seedView } from './support/ws-client.js';

describe('settlement in sandbox mode', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode({}, { kind: 'pglite', dataDir: undefined });
  });
  afterAll(async () => {
    await node.stop();
  });

  const pay = (txId: string, body?: Record<string, string>) =>
    node.api('POST', `/sandbox/transactions/${txId}/pay`, { body });
  const status = (txId: string) =>
    node.api('GET', `${API}/transactions/${txId}/status`, { key: demoKey(node) });
  const anomaliesOf = (txId: string) =>
    node.store.database.db
      .select({ reason: settlementAnomalies.reason })
      .from(settlementAnomalies)
      .where(eq(settlementAnomalies.transactionId, txId));

  it('pushes the seed settlement message, then REST shows settled with digest and settledAt', async () => {
    const txId = await createProposal(node);
    const socket = node.watch(txId);
    expect(await socket.next()).toMatchObject({ type: 'status', status: 'pending', version: 1 });
    const before = Date.now();
    const paid = await pay(txId);
    expect(paid.status).toBe(202);
    const txDigest = paid.body.txDigest as string;
    const settlement = await socket.next();
    expect(seedView(settlement)).toEqual({
      type: 'settlement',
      transactionId: txId,
      status: 'settled',
      suiTxDigest: txDigest,
      version: 2,
      late: false,
    });
    // Latency accounting: the checkpoint's time, then when the server pushed it.
    const checkpointAt = Date.parse(settlement.checkpointTimestamp as string);
    expect(checkpointAt).toBeLessThanOrEqual(Date.parse(settlement.pushedAt as string));
    expect((await socket.closeEvent()).code).toBe(1000);
    const rest = await status(txId);
    expect(rest.body).toMatchObject({
      status: 'settled',
      suiTxDigest: txDigest,
      version: 2,
      late: false,
    });
    // settledAt is the checkpoint's time: after the payment started, not the creation time.
    const settledAt = Date.parse(rest.body.settledAt as string);
    expect(settledAt).toBeGreaterThanOrEqual(before - 1000);
    expect(settledAt).toBeLessThanOrEqual(Date.now());
  });

  it.each([
    ['underpaid', { amount: '4.99' }],
    ['wrong_recipient', { merchant: `0x${'77'.repeat(32)}` }],
    ['wrong_coin', { coinType: '0x2::sui::SUI', amount: '5' }],
  ])('leaves the proposal pending and records one %s anomaly', async (reason, override) => {
    const txId = await createProposal(node);
    expect((await pay(txId, override)).status).toBe(202);
    await waitFor(async () => (await anomaliesOf(txId)).length > 0, `the ${reason} anomaly`);
    expect(await anomaliesOf(txId)).toEqual([{ reason }]);
    expect((await status(txId)).body).toMatchObject({ status: 'pending', version: 1 });
    expect(
      node.logs.some((line) => line.includes('settlement anomaly') && line.includes(reason)),
    ).toBe(true);
  });

  it('settles an overpayment', async () => {
    const txId = await createProposal(node);
    const socket = node.watch(txId);
    await socket.next();
    await pay(txId, { amount: '7.5' });
    expect(await socket.next()).toMatchObject({ type: 'settlement', status: 'settled' });
  });

  it('records a payment after expiry as settled and late', async () => {
    const txId = await createProposal(node, { expiresInSeconds: 1 });
    const socket = node.watch(txId);
    await socket.next();
    expect(await socket.next()).toMatchObject({ type: 'status', status: 'expired' });
    await pay(txId);
    await waitFor(
      async () => (await status(txId)).body.status === 'settled',
      'the late settlement',
    );
    expect((await status(txId)).body).toMatchObject({ status: 'settled', late: true, version: 3 });
    const late = node.watch(txId);
    expect(await late.next()).toMatchObject({
      type: 'status',
      status: 'settled',
      late: true,
      version: 3,
    });
  });

  it('logs every settlement of a batch once, with its digest, a hundred to a line', async () => {
    const ids = await Promise.all(Array.from({ length: 150 }, () => createProposal(node)));
    const terms = await Promise.all(ids.map((id) => node.store.settlements.termsByTransaction(id)));
    if (!node.sandboxChain) throw new Error('no sandbox chain');
    const receipts = await node.sandboxChain.wallet.payAll(
      terms.map((term) => {
        if (!term) throw new Error('no terms');
        const { intentHash, merchantSuiAddress: merchant, amountBaseUnits: amount } = term;
        return { intentHash, merchant, amount, coinType: term.coinType };
      }),
    );
    const settledLines = () =>
      node.logs
        .map((line) => JSON.parse(line) as { msg: string; settlements?: unknown[] })
        .filter((line) => line.msg === 'settled')
        .map((line) => line.settlements ?? []) as { transactionId: string; txDigest: string }[][];
    const logged = () => settledLines().flat();
    const ours = new Set(ids);
    await waitFor(
      () => logged().filter((entry) => ours.has(entry.transactionId)).length >= ids.length,
      'a settled line for each of the 150',
    );
    const entries = logged().filter((entry) => ours.has(entry.transactionId));
    expect(entries.map((entry) => entry.transactionId).sort()).toEqual([...ids].sort());
    const digestOf = new Map(entries.map((entry) => [entry.transactionId, entry.txDigest]));
    // One checkpoint, one batch: two lines of at most 100 hold its 150 settlements.
    expect(new Set(receipts.map((receipt) => receipt.checkpoint)).size).toBe(1);
    expect(ids.map((id) => digestOf.get(id))).toEqual(receipts.map((r) => r.txDigest));
    expect(Math.max(...settledLines().map((line) => line.length))).toBeLessThanOrEqual(100);
    // And the batch's one line before them: its count and how long its COMMIT took. A batch is
    // named by the last checkpoint it read, which may come after the payments' own.
    const paidIn = BigInt(receipts[0]?.checkpoint ?? 0);
    const committed = node.logs
      .map((line) => JSON.parse(line) as { msg: string; checkpoint?: string })
      .filter((line) => line.msg === 'settlements committed')
      .find((line) => BigInt(line.checkpoint ?? -1) >= paidIn);
    expect(committed).toMatchObject({ settled: 150, commitMs: expect.any(Number) });
  });

  it('answers 404 for an unknown proposal and 409 when it was already paid', async () => {
    expect((await pay('00000000-0000-4000-8000-000000000000')).status).toBe(404);
    const txId = await createProposal(node);
    expect((await pay(txId)).status).toBe(202);
    expect((await pay(txId)).status).toBe(409);
    expect((await pay(txId, { amount: 'lots' })).status).toBe(400);
    expect((await pay(txId, { coinType: 'SUI' })).status).toBe(400);
  });

  it('never lets the buyer stealth address reach storage, logs, responses or messages', async () => {
    const buyer = `0x${randomBytes(32).toString('hex')}`;
    const txId = await createProposal(node);
    const socket = node.watch(txId);
    await socket.next();
    const terms = await node.store.settlements.termsByTransaction(txId);
    if (!terms || !node.sandboxChain) throw new Error('no terms or chain');
    await node.sandboxChain.wallet.pay({
      intentHash: terms.intentHash,
      merchant: terms.merchantSuiAddress,
      amount: terms.amountBaseUnits,
      coinType: terms.coinType,
      buyerStealthAddress: buyer,
    });
    expect(await socket.next()).toMatchObject({ type: 'settlement' });
    const rest = await status(txId);
    const tables = [
      'merchants',
      'proposals',
      'status_events',
      'indexer_cursor',
      'settlement_anomalies',
    ];
    const dumps = await Promise.all(
      tables.map((table) => node.store.database.db.execute(`select * from ${table}`)),
    );
    const everything = [
      JSON.stringify(dumps),
      node.logs.join('\n'),
      socket.raw.join('\n'),
      JSON.stringify(rest.body),
    ]
      .join('\n')
      .toLowerCase();
    const hex = buyer.slice(2);
    // The chain itself does carry it: proof that the address was there to leak (the newest
    // events: earlier tests paid many).
    const onChain = await fetch(node.sandboxChain.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: `{ events(last: 50) { nodes { transaction { effects { balanceChanges(first: 10) { nodes { owner { address } } } } } } } }`,
      }),
    }).then((response) => response.text());
    expect(onChain).toContain(hex);
    expect(everything).not.toContain(hex);
    expect(everything).not.toContain(Buffer.from(hex, 'hex').toString('base64').toLowerCase());
  });
});
