import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { BatchReader } from '../../test/fixtures/chain/batch-reader.js';
import { FakeSuiNode, watermarkFrame } from '../../test/fixtures/chain/fake-sui-node.js';
import { ConfigError, loadConfig, SANDBOX_PACKAGE_ID } from '../config/index.js';
import { createChainSource, openSandboxChain, type SandboxChainHandle } from './index.js';

const logger = pino({ level: 'silent' });
const PACKAGE = `0x${'ab'.repeat(32)}`;

describe('chain configuration', () => {
  it('defaults to GraphQL in sandbox mode and to gRPC on public networks', () => {
    const sandbox = loadConfig({});
    expect(sandbox).toMatchObject({
      chainSource: 'graphql',
      suiRpcUrl: undefined,
      suiGraphqlUrl: undefined,
      chainPollMs: 250,
      settlementEventType: `${SANDBOX_PACKAGE_ID}::settlement::SettlementEvent`,
    });
    expect(loadConfig({ SUI_NETWORK: 'testnet', PACKAGE_ID: '0xab' })).toMatchObject({
      chainSource: 'grpc',
      suiRpcUrl: 'https://fullnode.testnet.sui.io:443',
      suiGraphqlUrl: 'https://graphql.testnet.sui.io/graphql',
      settlementEventType: `0x${'0'.repeat(62)}ab::settlement::SettlementEvent`,
    });
  });

  it('takes explicit endpoints, source and poll interval', () => {
    const config = loadConfig({
      SUI_NETWORK: 'mainnet',
      PACKAGE_ID: PACKAGE,
      SUI_CHAIN_SOURCE: 'graphql',
      SUI_GRAPHQL_URL: 'https://example.org/graphql',
      SUI_RPC_URL: 'https://rpc.example.org',
      CHAIN_POLL_MS: '500',
    });
    expect(config).toMatchObject({
      chainSource: 'graphql',
      suiGraphqlUrl: 'https://example.org/graphql',
      suiRpcUrl: 'https://rpc.example.org',
      chainPollMs: 500,
    });
  });

  it('points sandbox mode at a standalone sandbox chain', () => {
    expect(loadConfig({ SANDBOX_CHAIN_URL: 'http://127.0.0.1:9125' })).toMatchObject({
      sandboxChainUrl: 'http://127.0.0.1:9125',
      suiGraphqlUrl: 'http://127.0.0.1:9125/graphql',
    });
  });

  it('refuses combinations that cannot work', () => {
    expect(() => loadConfig({ SUI_CHAIN_SOURCE: 'grpc' })).toThrow(ConfigError);
    expect(() =>
      loadConfig({ SUI_NETWORK: 'mainnet', PACKAGE_ID: PACKAGE, SANDBOX_CHAIN_URL: 'http://x' }),
    ).toThrow(/SANDBOX_CHAIN_URL/);
    expect(() => loadConfig({ SUI_GRAPHQL_URL: 'ftp://example.org' })).toThrow(/SUI_GRAPHQL_URL/);
    expect(() => loadConfig({ CHAIN_POLL_MS: '1' })).toThrow(/CHAIN_POLL_MS/);
  });
});

describe('createChainSource', () => {
  const handles: SandboxChainHandle[] = [];
  let controller = new AbortController();
  afterEach(async () => {
    controller.abort();
    controller = new AbortController();
    for (const handle of handles.splice(0)) await handle.stop();
  });

  it('follows an in-process sandbox chain over GraphQL', async () => {
    const config = loadConfig({ CHAIN_POLL_MS: '50' });
    const chain = await openSandboxChain(config, {
      logger,
      dataFile: false,
      checkpointIntervalMs: 20,
    });
    handles.push(chain);
    const source = createChainSource(config, { logger, graphqlUrl: chain.graphqlUrl });
    const reader = new BatchReader(source.batches(0n, controller.signal));
    const receipt = await chain.wallet.pay({
      intentHash: 'ab'.repeat(32),
      merchant: '0x1',
      amount: 1n,
      coinType: '0x2::sui::SUI',
    });

    await reader.until((batch) =>
      batch.events.some((event) => event.txDigest === receipt.txDigest),
    );
  });

  it('uses the gRPC source when configured, over the given transport', async () => {
    const node = new FakeSuiNode();
    const config = loadConfig({ SUI_NETWORK: 'mainnet', PACKAGE_ID: PACKAGE });
    const source = createChainSource(config, { logger, transport: node.transport });
    const reader = new BatchReader(source.batches(undefined, controller.signal));
    (await node.transport.stream('SubscriptionService/SubscribeEvents', 0)).send(
      watermarkFrame(7n),
    );
    (await node.transport.stream('SubscriptionService/SubscribeEvents', 0)).send(
      watermarkFrame(8n),
    );

    await reader.until((batch) => batch.checkpoint === 8n);
    const [request] = node.transport.requestsTo('SubscriptionService/SubscribeEvents');
    expect(JSON.stringify(request?.filter)).toContain(config.settlementEventType);
  });
});
