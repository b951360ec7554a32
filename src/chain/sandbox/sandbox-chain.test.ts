import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fromBase58 } from '@mysten/sui/utils';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { BatchReader } from '../../../test/fixtures/chain/batch-reader.js';
import { SANDBOX_PACKAGE_ID } from '../../config/index.js';
import { createGraphqlChainSource } from '../graphql-source.js';
import { settlementEventType } from '../settlement-event.js';
import {
  IntentAlreadySettledError,
  MAX_PAYMENTS_PER_REQUEST,
  SandboxInputError,
  sandboxWalletClient,
  startSandboxChain,
  type SandboxChain,
} from './index.js';

const USDC = '0xdba34672e30cb065b1f93e3ab55318768fd6fef66c15942c9f7cb846e2f900e7::usdc::USDC';
const MERCHANT = `0x${'1'.repeat(64)}`;
const intent = () => randomBytes(32).toString('hex');
const payment = (intentHash = intent()) => ({
  intentHash,
  merchant: MERCHANT,
  amount: 10n,
  coinType: USDC,
});

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function chainFor(
  options: Parameters<typeof startSandboxChain>[0] = {},
): Promise<SandboxChain> {
  const chain = await startSandboxChain({ checkpointIntervalMs: 20, ...options });
  cleanups.push(() => chain.stop());
  return chain;
}

function dataFile(): string {
  const folder = mkdtempSync(path.join(tmpdir(), 'sandbox-chain-'));
  cleanups.push(() => rmSync(folder, { recursive: true, force: true }));
  return path.join(folder, 'chain.jsonl');
}

async function post(
  url: string,
  body: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function servedIdentifier(chain: SandboxChain): Promise<unknown> {
  const { body } = await post(chain.graphqlUrl, { query: '{ chainIdentifier }' });
  return (body.data as { chainIdentifier?: unknown } | undefined)?.chainIdentifier;
}

describe('sandbox chain', () => {
  it('makes checkpoints on its own, with digests like Sui transaction digests', async () => {
    const chain = await chainFor();
    const before = chain.latestCheckpoint();
    const receipt = await chain.pay(payment());

    expect(receipt.checkpoint).toBeGreaterThan(before);
    expect(fromBase58(receipt.txDigest)).toHaveLength(32);
  });

  it('rejects a second settlement of the same intent hash, also while the first is pending', async () => {
    const chain = await chainFor();
    const intentHash = intent();
    const first = chain.pay(payment(intentHash));
    await expect(chain.pay(payment(intentHash.toUpperCase()))).rejects.toBeInstanceOf(
      IntentAlreadySettledError,
    );
    await first;
    await expect(chain.pay(payment(`0x${intentHash}`))).rejects.toThrow(/already settled/);
  });

  it('settles over HTTP with 202 and answers 409 for an intent settled before', async () => {
    const chain = await chainFor();
    const intentHash = intent();
    const body = { intentHash, merchant: MERCHANT, amount: '2500000', coinType: USDC };

    const accepted = await post(`${chain.url}/sandbox/pay`, body);
    expect(accepted.status).toBe(202);
    expect(accepted.body).toEqual({
      txDigest: expect.any(String) as string,
      checkpoint: expect.any(Number) as number,
    });
    const again = await post(`${chain.url}/sandbox/pay`, body);
    expect(again.status).toBe(409);
  });

  it('answers 400 for bad payment input', async () => {
    const chain = await chainFor();
    const good = { intentHash: intent(), merchant: MERCHANT, amount: '1', coinType: USDC };
    for (const bad of [
      { ...good, intentHash: 'xyz' },
      { ...good, merchant: 'not-an-address' },
      { ...good, amount: '1.5' },
      { ...good, amount: 10 },
      { ...good, amount: '0' },
      { ...good, coinType: 'USDC' },
    ]) {
      expect((await post(`${chain.url}/sandbox/pay`, bad)).status).toBe(400);
    }
  });

  it('pays through the wallet client with the same errors as in process', async () => {
    const chain = await chainFor();
    const wallet = sandboxWalletClient(chain.url);
    const intentHash = intent();

    const receipt = await wallet.pay(payment(intentHash));
    expect(receipt.checkpoint).toBeGreaterThan(0n);
    await expect(wallet.pay(payment(intentHash))).rejects.toBeInstanceOf(IntentAlreadySettledError);
    await expect(wallet.pay({ ...payment(), amount: -1n })).rejects.toBeInstanceOf(
      SandboxInputError,
    );
  });

  it('settles a list of payments in one checkpoint, all or none', async () => {
    const chain = await chainFor({ checkpointIntervalMs: 50 });
    const wallet = sandboxWalletClient(chain.url);
    const receipts = await wallet.payAll([payment(), payment(), payment()]);
    expect(new Set(receipts.map((receipt) => receipt.checkpoint)).size).toBe(1);
    expect(new Set(receipts.map((receipt) => receipt.txDigest)).size).toBe(3);

    // One bad or already settled payment refuses the list: the good ones stay payable.
    const good = payment();
    const body = (intentHash: string) => ({ ...good, intentHash, amount: '10' });
    const bad = await post(`${chain.url}/sandbox/pay`, [
      body(good.intentHash),
      { ...body(intent()), amount: '0' },
    ]);
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/^payment 1: amount/);
    const repeated = intent();
    expect((await post(`${chain.url}/sandbox/pay`, [body(repeated), body(repeated)])).status).toBe(
      409,
    );
    await expect(wallet.payAll([good, payment()])).resolves.toHaveLength(2);
    await expect(wallet.payAll([payment(), good])).rejects.toBeInstanceOf(
      IntentAlreadySettledError,
    );

    expect((await post(`${chain.url}/sandbox/pay`, [])).status).toBe(400);
    const tooMany = Array.from({ length: MAX_PAYMENTS_PER_REQUEST + 1 }, () => body(intent()));
    expect((await post(`${chain.url}/sandbox/pay`, tooMany)).status).toBe(400);
  });

  it('answers invalid GraphQL with errors, as a GraphQL server does', async () => {
    const chain = await chainFor();
    const result = await post(chain.graphqlUrl, { query: '{ checkpoint { noSuchField } }' });
    expect(result.status).toBe(200);
    expect(JSON.stringify(result.body.errors)).toContain('noSuchField');
  });

  it('keeps transactions and checkpoint numbers across a restart with the same data file', async () => {
    const file = dataFile();
    const first = await startSandboxChain({ checkpointIntervalMs: 20, dataFile: file });
    const intentHash = intent();
    const receipt = await first.pay(payment(intentHash));
    const seen = first.latestCheckpoint();
    await first.stop();

    const second = await chainFor({ dataFile: file });
    expect(second.latestCheckpoint()).toBeGreaterThanOrEqual(seen);
    await expect(second.pay(payment(intentHash))).rejects.toBeInstanceOf(IntentAlreadySettledError);
    const next = await second.pay(payment());
    expect(next.checkpoint).toBeGreaterThan(seen);

    const source = createGraphqlChainSource({
      url: second.graphqlUrl,
      eventType: settlementEventType(SANDBOX_PACKAGE_ID),
      logger: pino({ level: 'silent' }),
      pollIntervalMs: 10,
    });
    const controller = new AbortController();
    cleanups.push(() => controller.abort());
    const reader = new BatchReader(source.batches(receipt.checkpoint - 1n, controller.signal));
    const batch = await reader.until((b) => b.events.some((e) => e.txDigest === next.txDigest));
    const digests = reader.batches.flatMap((b) => b.events.map((e) => e.txDigest));
    expect(digests).toEqual([receipt.txDigest, next.txDigest]);
    expect(batch.checkpoint).toBeGreaterThanOrEqual(next.checkpoint);
  });

  it('keeps its chain identifier across restarts with the same data file; a new chain has a new one', async () => {
    const file = dataFile();
    const first = await startSandboxChain({ checkpointIntervalMs: 20, dataFile: file });
    const identifier = first.chainIdentifier;
    await first.stop();

    const again = await chainFor({ dataFile: file });
    expect(again.chainIdentifier).toBe(identifier);
    expect(await servedIdentifier(again)).toBe(identifier);
    const newFile = await chainFor({ dataFile: dataFile() });
    const inMemory = await chainFor();
    expect(await servedIdentifier(newFile)).toBe(newFile.chainIdentifier);
    const identifiers = [identifier, newFile.chainIdentifier, inMemory.chainIdentifier];
    expect(new Set(identifiers).size).toBe(3);
    for (const each of identifiers) expect(each).toMatch(/^[0-9a-f]{8}$/);
  });

  it('gives a data file from before chain identities one identity, and keeps it', async () => {
    const file = dataFile();
    const reserve = { v: 1, kind: 'reserve', at: '0', upTo: '39', timestampMs: Date.now() };
    writeFileSync(file, `${JSON.stringify(reserve)}\n`);

    const first = await startSandboxChain({ checkpointIntervalMs: 20, dataFile: file });
    expect(first.latestCheckpoint()).toBeGreaterThanOrEqual(39n);
    const identifier = first.chainIdentifier;
    await first.stop();
    const second = await chainFor({ dataFile: file });

    expect(second.chainIdentifier).toBe(identifier);
    const records = readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as { kind: string });
    expect(records.filter((record) => record.kind === 'genesis')).toHaveLength(1);
  });

  it('never republishes a checkpoint number after a crash between reservations', async () => {
    const file = dataFile();
    const first = await startSandboxChain({ checkpointIntervalMs: 5, dataFile: file });
    const start = first.latestCheckpoint();
    await new BatchReader(
      createGraphqlChainSource({
        url: first.graphqlUrl,
        eventType: settlementEventType(SANDBOX_PACKAGE_ID),
        logger: pino({ level: 'silent' }),
        pollIntervalMs: 5,
      }).batches(start, AbortSignal.timeout(5_000)),
    ).until((b) => b.checkpoint >= start + 3n);
    const published = first.latestCheckpoint();
    // No stop(): the next start must not rely on anything written at shutdown.
    const second = await chainFor({ dataFile: file });
    await first.stop();

    expect(second.latestCheckpoint()).toBeGreaterThanOrEqual(published);
  });
});
