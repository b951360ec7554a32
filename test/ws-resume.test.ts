import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API } from './support/http.js';
import { createProposal, demoKey, startTestNode, type TestNode } from './support/node.js';
import { waitFor } from './support/wait.js';
import { seedView, TestSocket } from './support/ws-client.js';

describe('resuming with since', () => {
  let node: TestNode;
  let settledTx: string;
  let digest: string;

  beforeAll(async () => {
    node = await startTestNode({ CHAIN_POLL_MS: '50' });
    settledTx = await createProposal(node);
    const socket = node.watch(settledTx);
    await socket.next();
    digest = (await node.api('POST', `/sandbox/transactions/${settledTx}/pay`)).body
      .txDigest as string;
    await socket.finished();
  });
  afterAll(async () => {
    await node.stop();
  });

  const resume = (txId: string, since: string) =>
    TestSocket.connect(`${node.wsUrl(txId)}?since=${since}`);
  const status = (txId: string, query = '') =>
    node.api('GET', `${API}/transactions/${txId}/status${query}`, { key: demoKey(node) });

  it('replays every transition after version 0 in order, as they were pushed, then closes', async () => {
    const { messages, close } = await resume(settledTx, '0').finished();
    expect(messages.map(seedView)).toEqual([
      {
        type: 'status',
        transactionId: settledTx,
        status: 'pending',
        suiTxDigest: null,
        version: 1,
      },
      {
        type: 'settlement',
        transactionId: settledTx,
        status: 'settled',
        suiTxDigest: digest,
        version: 2,
        late: false,
      },
    ]);
    expect(close.code).toBe(1000);
  });

  it('sends only what came after the given version', async () => {
    const { messages } = await resume(settledTx, '1').finished();
    expect(messages.map((message) => [message.type, message.version])).toEqual([['settlement', 2]]);
  });

  it('sends nothing and closes with 1000 when the client already has the final version', async () => {
    const { messages, close } = await resume(settledTx, '2').finished();
    expect([messages, close.code]).toEqual([[], 1000]);
  });

  it.each([
    ['ahead of the transaction', '7'],
    ['not a number', 'abc'],
    ['negative', '-1'],
  ])('closes with 4400 after an error when since is %s', async (_what, since) => {
    const { messages, close } = await resume(settledTx, since).finished();
    expect(messages).toEqual([{ type: 'error', message: expect.stringContaining('since') }]);
    expect(close.code).toBe(4400);
  });

  it('stays open on a pending transaction the client is up to date with, then streams live', async () => {
    const txId = await createProposal(node);
    const socket = resume(txId, '1');
    await socket.opened;
    await node.api('POST', `/sandbox/transactions/${txId}/pay`);
    const { messages, close } = await socket.finished();
    expect(messages.map((message) => [message.type, message.version])).toEqual([['settlement', 2]]);
    expect(close.code).toBe(1000);
  });

  it('returns the transitions after since over REST', async () => {
    const response = await status(settledTx, '?since=0');
    expect(response.body.transitions).toEqual([
      expect.objectContaining({ version: 1, status: 'pending', event: 'created' }),
      expect.objectContaining({
        version: 2,
        status: 'settled',
        event: 'settled',
        suiTxDigest: digest,
      }),
    ]);
    expect((await status(settledTx, '?since=2')).body.transitions).toEqual([]);
    expect((await status(settledTx)).body).not.toHaveProperty('transitions');
    expect((await status(settledTx, '?since=3')).status).toBe(400);
    expect((await status(settledTx, '?since=x')).status).toBe(400);
    expect((await status(settledTx, '?colour=red')).status).toBe(400);
  });

  it('tells how far settlements are indexed in a pending status', async () => {
    await waitFor(() => node.indexer.status().checkpoint !== undefined, 'a first indexed batch');
    const txId = await createProposal(node);
    const message = await node.watch(txId).next();
    expect(message.indexedCheckpoint).toMatch(/^\d+$/);
    expect(Date.parse(message.indexedCheckpointTimestamp as string)).not.toBeNaN();
    const rest = await status(txId);
    expect(BigInt(rest.body.indexedCheckpoint as string)).toBeGreaterThanOrEqual(
      BigInt(message.indexedCheckpoint as string),
    );
  });
});
