/**
 * A node that starts while transactions are open reads them ahead of their clients (Hub.preload)
 * and keeps them current from the bus: two nodes on one Postgres database, the second started
 * after the first made, and finished, some of its transactions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API } from './support/http.js';
import {
  createProposal,
  registerMerchant,
  startTestNode,
  type TestMerchant,
  type TestNode,
} from './support/node.js';
import { metricValue } from './support/metrics.js';
import { postgresForTests, type TestDatabase } from './support/postgres.js';
import { waitFor } from './support/wait.js';
import { TestSocket } from './support/ws-client.js';

const pg = await postgresForTests();

describe.skipIf(!pg.available)('a node started while transactions are open', () => {
  let database: TestDatabase;
  let first: TestNode;
  let second: TestNode | undefined;
  let open: string[];
  let finished: string;
  // Not the demo merchant: each node in sandbox mode gives it a new key.
  let merchant: TestMerchant;

  const cancel = (txId: string) =>
    first.api('POST', `${API}/transactions/${txId}/cancel`, { key: merchant.apiKey });
  const create = () => createProposal(first, {}, merchant.apiKey);

  beforeAll(async () => {
    database = await pg.createDatabase();
    first = await startTestNode({}, { kind: 'postgres', url: database.url });
    merchant = await registerMerchant(first);
    open = [await create(), await create()];
    finished = await create();
    expect((await cancel(finished)).status).toBe(200);
    second = await startTestNode({}, { kind: 'postgres', url: database.url });
  });
  afterAll(async () => {
    await second?.stop();
    await first?.stop();
    await database?.drop();
  });

  /** The node's log line once its preload is over (it preloads after it starts listening). */
  const preloaded = async () => {
    const find = () =>
      second?.logs
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .find((line) => line.msg === 'open transactions preloaded');
    await waitFor(() => find() !== undefined, 'the preload to end');
    return find() ?? {};
  };

  it('says how many open transactions it read ahead, leaving finished ones out', async () => {
    expect((await preloaded()).transactions).toBe(open.length);
    const node = second as TestNode;
    expect(await metricValue(node, 'identipay_hub_preloaded_transactions')).toBe(open.length);
  });

  it('answers a watch from what it read, then pushes what another node commits', async () => {
    await preloaded();
    const [txId] = open as [string];
    const socket = TestSocket.connect(second?.wsUrl(txId) ?? '');
    await socket.next();
    expect((await cancel(txId)).status).toBe(200);
    const { messages, close } = await socket.finished();
    expect(messages.map((m) => [m.type, m.status, m.version])).toEqual([
      ['status', 'pending', 1],
      ['status', 'cancelled', 2],
    ]);
    expect(close.code).toBe(1000);
  });

  it('keeps an unwatched open transaction current: a later watch sees its end', async () => {
    await preloaded();
    const [, txId] = open as [string, string];
    // Resumed at version 1: the node sends nothing while its copy says version 1 is current.
    const resumed = TestSocket.connect(`${second?.wsUrl(txId)}?since=1`);
    await resumed.opened;
    expect((await cancel(txId)).status).toBe(200);
    const { messages, close } = await resumed.finished();
    expect(messages.map((m) => [m.type, m.status, m.version])).toEqual([
      ['status', 'cancelled', 2],
    ]);
    expect(close.code).toBe(1000);

    const late = await TestSocket.connect(second?.wsUrl(txId) ?? '').finished();
    expect(late.messages.map((m) => [m.status, m.version])).toEqual([['cancelled', 2]]);
    // Both open transactions are watched now: nothing is left waiting in memory.
    expect(await metricValue(second as TestNode, 'identipay_hub_preloaded_transactions')).toBe(0);
  });

  it('reads a transaction that was finished before it started', async () => {
    const { messages, close } = await TestSocket.connect(second?.wsUrl(finished) ?? '').finished();
    expect(messages.map((m) => [m.type, m.status, m.version])).toEqual([
      ['status', 'cancelled', 2],
    ]);
    expect(close.code).toBe(1000);
  });
});
