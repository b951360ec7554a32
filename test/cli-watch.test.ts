import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli } from './support/cli.js';
import { demoKey, startTestNode, type TestNode } from './support/node.js';
import { ensureBuilt } from './support/process.js';
import { waitFor } from './support/wait.js';
import { upgradeStatus } from './support/ws-client.js';

const pending = (txId: string) =>
  expect.objectContaining({ type: 'status', transactionId: txId, status: 'pending', version: 1 });

describe('identipay-status proposal, watch and pay against a running service', () => {
  let node: TestNode;
  let env: Record<string, string>;
  beforeAll(async () => {
    ensureBuilt();
    node = await startTestNode({ CHAIN_POLL_MS: '50' });
    env = { IDENTIPAY_STATUS_URL: node.url, IDENTIPAY_API_KEY: demoKey(node) };
  });
  afterAll(async () => {
    await node?.stop();
  });

  async function create(...args: string[]): Promise<string> {
    const created = await runCli(['proposal', 'create', '--quiet', ...args], env);
    expect(created.code, created.stderr).toBe(0);
    return created.stdout.trim();
  }

  it('creates a proposal, prints pending, pays it, prints the settlement and exits 0', async () => {
    const created = await runCli(
      ['proposal', 'create', '--item', 'Espresso:2:2.50', '--item', 'Croissant:1:3.10'],
      env,
    );
    expect(created.code, created.stderr).toBe(0);
    const body = JSON.parse(created.stdout) as Record<string, unknown>;
    const txId = body.transactionId as string;
    expect(body).toMatchObject({
      uri: expect.stringContaining(txId) as unknown,
      proposal: { amount: { value: '8.10', currency: 'USDC' } },
    });
    expect(body).not.toHaveProperty('qrCode');

    const watch = startCli(['watch', txId], env);
    await watch.line((line) => line.status === 'pending', 'the pending line');
    const paid = await runCli(['pay', txId], env);
    expect(paid.code, paid.stderr).toBe(0);
    const { txDigest } = paid.lines()[0] as { txDigest: string };
    expect(await watch.exit()).toBe(0);
    expect(watch.lines()).toEqual([
      pending(txId),
      expect.objectContaining({
        type: 'settlement',
        transactionId: txId,
        status: 'settled',
        suiTxDigest: txDigest,
        version: 2,
        late: false,
      }),
    ]);
    expect(watch.stderr()).toBe('');
  });

  it('exits 4 after the cancelled line when the proposal is cancelled while watched', async () => {
    const txId = await create('--amount', '1.00');
    const watch = startCli(['watch', txId], env);
    await watch.line((line) => line.status === 'pending', 'the pending line');
    const cancelled = await runCli(['proposal', 'cancel', txId], env);
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect(cancelled.lines()).toEqual([{ transactionId: txId, status: 'cancelled', version: 2 }]);
    expect(await watch.exit()).toBe(4);
    expect(watch.lines()).toEqual([
      pending(txId),
      expect.objectContaining({ type: 'status', status: 'cancelled', version: 2 }),
    ]);
    const again = await runCli(['proposal', 'cancel', txId], env);
    expect(again.code).toBe(7);
    expect(JSON.parse(again.stderr)).toMatchObject({ error: 'conflict', status: 'cancelled' });
  });

  it('exits 3 with the expired line when the proposal expires', async () => {
    const txId = await create('--amount', '1.00', '--expires-in', '1');
    const watch = startCli(['watch', txId], env);
    expect(await watch.exit()).toBe(3);
    const lines = watch.lines();
    expect(lines.at(-1)).toMatchObject({ type: 'status', transactionId: txId, status: 'expired' });
    // Depending on when the watch connected, it saw pending first or only the expiry.
    expect(lines.map((line) => line.status)).toEqual(
      lines.length === 2 ? ['pending', 'expired'] : ['expired'],
    );
  });

  it('resumes with --since: only later transitions, and nothing after the final version', async () => {
    const txId = await create('--amount', '2.00');
    expect((await runCli(['pay', txId], env)).code).toBe(0);
    expect((await runCli(['watch', txId], env)).code).toBe(0);

    const fromOne = await runCli(['watch', txId, '--since', '1'], env);
    expect(fromOne.code, fromOne.stderr).toBe(0);
    expect(fromOne.lines()).toEqual([
      expect.objectContaining({ type: 'settlement', status: 'settled', version: 2 }),
    ]);
    const fromFinal = await runCli(['watch', txId, '--since', '2'], env);
    expect(fromFinal.code, fromFinal.stderr).toBe(0);
    expect(fromFinal.lines()).toEqual([]);
    expect(fromFinal.stderr).toContain('already settled');
    const ahead = await runCli(['watch', txId, '--since', '3'], env);
    expect(ahead.code).toBe(6);
    expect(ahead.stderr).toContain('ahead of this transaction');
  });

  it('exits 5 for an unknown transaction and 6 for an invalid id, printing no line', async () => {
    const unknown = await runCli(['watch', randomUUID()], env);
    expect(unknown.code).toBe(5);
    expect(unknown.lines()).toEqual([]);
    expect(unknown.stderr).toContain('Transaction not found');
    const invalid = await runCli(['watch', 'not-a-uuid'], env);
    expect(invalid.code).toBe(6);
    expect(invalid.lines()).toEqual([]);
    expect(invalid.stderr).toContain('Invalid transaction id');
  });

  it('stops cleanly on SIGINT with exit 130 and closes its socket', async () => {
    const txId = await create('--amount', '1.00');
    const before = node.hub.openSockets;
    const watch = startCli(['watch', txId], env);
    await watch.line((line) => line.status === 'pending', 'the pending line');
    watch.child.kill('SIGINT');
    expect(await watch.exit()).toBe(130);
    expect(watch.lines()).toEqual([pending(txId)]);
    expect(watch.stderr()).toBe('');
    await waitFor(() => node.hub.openSockets === before, 'the server to see the socket close');
  });

  it('exits 8 when --timeout passes while the transaction is still pending', async () => {
    const txId = await create('--amount', '1.00');
    const watch = await runCli(['watch', txId, '--timeout', '1'], env);
    expect(watch.code).toBe(8);
    expect(watch.lines()).toEqual([pending(txId)]);
    expect(watch.stderr).toContain('no final status after 1 s (last status: pending)');
  });

  it("pay and proposal create print the server's JSON error with their exit code", async () => {
    const txId = await create('--amount', '1.00');
    expect((await runCli(['pay', txId, '--amount', '1.00'], env)).code).toBe(0);
    const twice = await runCli(['pay', txId], env);
    expect(twice.code).toBe(7);
    expect(JSON.parse(twice.stderr)).toMatchObject({ error: 'conflict' });
    const unknown = await runCli(['pay', randomUUID()], env);
    expect(unknown.code).toBe(5);
    expect(JSON.parse(unknown.stderr)).toEqual({
      error: 'not_found',
      message: 'Transaction not found',
    });
    const badKey = await runCli(['proposal', 'create', '--amount', '1', '--api-key', 'ips_x'], env);
    expect(badKey.code).toBe(6);
    expect(JSON.parse(badKey.stderr)).toMatchObject({ error: 'unauthorized' });
    const decimals = await runCli(['proposal', 'create', '--amount', '1.1234567'], env);
    expect(decimals.code).toBe(6);
    expect(JSON.parse(decimals.stderr)).toMatchObject({ error: 'bad_request' });
  });

  it('exits 2 on usage errors without printing to stdout', async () => {
    const uuid = randomUUID();
    for (const args of [
      ['watch'],
      ['watch', uuid, uuid],
      ['watch', uuid, '--since', 'x'],
      ['watch', uuid, '--colour', 'red'],
      ['proposal', 'create'],
      ['proposal', 'create', '--item', 'Espresso'],
      ['pay'],
      ['frobnicate'],
    ]) {
      const result = await runCli(args, env);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).not.toBe('');
    }
    const keyless = await runCli(['proposal', 'create', '--amount', '1', '--url', node.url]);
    expect(keyless.code).toBe(2);
    expect(keyless.stderr).toContain('IDENTIPAY_API_KEY');
  });

  it('lists every command and exit code in --help', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    for (const text of ['serve', 'merchant create', 'proposal create', 'proposal cancel'])
      expect(help.stdout).toContain(text);
    for (const text of ['watch <txId>', 'pay <txId>', '--since', '130  interrupted'])
      expect(help.stdout).toContain(text);
  });
});

describe('identipay-status watch --api-key when WebSockets are refused', () => {
  let node: TestNode;
  beforeAll(async () => {
    ensureBuilt();
    // One upgrade a minute per address: the test spends it, the CLI's upgrades then get 429.
    node = await startTestNode({ CHAIN_POLL_MS: '50', WS_UPGRADES_PER_MINUTE_PER_IP: '1' });
  });
  afterAll(async () => {
    await node?.stop();
  });

  it('falls back to polling the status route and still exits 0 on settlement', async () => {
    const env = { IDENTIPAY_STATUS_URL: node.url };
    const key = demoKey(node);
    const created = await runCli(
      ['proposal', 'create', '-q', '--amount', '1', '--api-key', key],
      env,
    );
    const txId = created.stdout.trim();
    expect(await upgradeStatus(node.wsUrl(txId))).toBe(101);
    expect(await upgradeStatus(node.wsUrl(txId))).toBe(429);

    const watch = startCli(['watch', txId, '--api-key', key], env);
    await watch.line((line) => line.status === 'pending', 'the pending line, polled');
    expect((await runCli(['pay', txId], env)).code).toBe(0);
    expect(await watch.exit()).toBe(0);
    expect(watch.lines()).toEqual([
      pending(txId),
      expect.objectContaining({ type: 'settlement', status: 'settled', version: 2 }),
    ]);
    expect(watch.stderr()).toContain('retrying');
  });
});

describe('identipay-status pay against a service outside sandbox mode', () => {
  let node: TestNode;
  beforeAll(async () => {
    ensureBuilt();
    // The chain endpoints point at a closed local port: this test must never reach Sui testnet.
    node = await startTestNode({
      SUI_NETWORK: 'testnet',
      PACKAGE_ID: `0x${'ab'.repeat(32)}`,
      SUI_RPC_URL: 'http://127.0.0.1:9',
      SUI_GRAPHQL_URL: 'http://127.0.0.1:9/graphql',
    });
  });
  afterAll(async () => {
    await node?.stop();
  });

  it('exits 5 and says the service is not in sandbox mode', async () => {
    const result = await runCli(['pay', randomUUID(), '--url', node.url]);
    expect(result.code).toBe(5);
    expect(result.stdout).toBe('');
    const [json, hint] = result.stderr.trim().split('\n');
    expect(JSON.parse(json ?? '')).toMatchObject({ error: 'not_found' });
    expect(hint).toContain('is not in sandbox mode');
  });
});
