import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProposal, startTestNode, type TestNode } from './support/node.js';

describe('websocket status', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode();
  });
  afterAll(async () => {
    await node.stop();
  });

  it('sends the current status on connect, as in the seed', async () => {
    const txId = await createProposal(node);
    const socket = node.watch(txId);
    expect(await socket.next()).toEqual({
      type: 'status',
      transactionId: txId,
      status: 'pending',
      suiTxDigest: null,
      version: 1,
    });
    socket.close();
  });
});
