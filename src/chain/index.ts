import path from 'node:path';
import { GrpcWebFetchTransport, type RpcTransport } from '@mysten/sui/grpc';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { createGraphqlChainSource } from './graphql-source.js';
import { createGrpcChainSource } from './grpc-source.js';
import { sandboxWalletClient, startSandboxChain, type SandboxWallet } from './sandbox/index.js';
import type { ChainSource } from './types.js';

export type { ChainSource, CheckpointBatch, CoinAmount, SettlementEvent } from './types.js';
export { ChainSourceUnsupportedError, HistoryPrunedError } from './errors.js';
export {
  IntentAlreadySettledError,
  SandboxInputError,
  sandboxWalletClient,
  startSandboxChain,
  type PaymentReceipt,
  type SandboxChain,
  type SandboxChainOptions,
  type SandboxPayment,
  type SandboxWallet,
} from './sandbox/index.js';

export type ChainConfig = Pick<
  Config,
  'network' | 'chainSource' | 'suiRpcUrl' | 'suiGraphqlUrl' | 'chainPollMs' | 'settlementEventType'
>;

export interface ChainSourceDeps {
  logger: Logger;
  /** The GraphQL URL of an in-process sandbox chain (known only once it has started). */
  graphqlUrl?: string;
  /** Replaces gRPC-web over fetch (tests feed protocol frames through it). */
  transport?: RpcTransport;
  fetch?: typeof fetch;
}

/** The configured source: gRPC subscription + backfill, or GraphQL polling. */
export function createChainSource(config: ChainConfig, deps: ChainSourceDeps): ChainSource {
  const logger = deps.logger.child({ component: 'chain' });
  if (config.chainSource === 'grpc') {
    const baseUrl = config.suiRpcUrl;
    if (!deps.transport && !baseUrl) throw new Error('gRPC chain source needs SUI_RPC_URL');
    return createGrpcChainSource({
      transport: deps.transport ?? new GrpcWebFetchTransport({ baseUrl: baseUrl ?? '' }),
      network: config.network,
      eventType: config.settlementEventType,
      logger,
    });
  }
  const url = deps.graphqlUrl ?? config.suiGraphqlUrl;
  if (!url) throw new Error('GraphQL chain source needs SUI_GRAPHQL_URL or a sandbox chain');
  return createGraphqlChainSource({
    url,
    eventType: config.settlementEventType,
    logger,
    pollIntervalMs: config.chainPollMs,
    fetch: deps.fetch,
  });
}

export interface SandboxChainHandle {
  graphqlUrl: string;
  /** Pays as a buyer's wallet would: in process, or over HTTP on a standalone chain. */
  wallet: SandboxWallet;
  /** Stops an in-process chain; a standalone one keeps running. */
  stop(): Promise<void>;
}

/**
 * Sandbox mode's chain: the standalone one at SANDBOX_CHAIN_URL, or one started in process whose
 * data file lives in the data folder (so a restart keeps its transactions and numbering).
 */
export async function openSandboxChain(
  config: Pick<Config, 'sandboxChainUrl' | 'dataDir' | 'packageId'>,
  deps: {
    logger: Logger;
    /** Defaults to `<dataDir>/sandbox-chain.jsonl`; `false` keeps the chain in memory. */
    dataFile?: string | false;
    checkpointIntervalMs?: number;
  },
): Promise<SandboxChainHandle> {
  if (config.sandboxChainUrl) {
    return {
      graphqlUrl: new URL('/graphql', config.sandboxChainUrl).toString(),
      wallet: sandboxWalletClient(config.sandboxChainUrl),
      stop: () => Promise.resolve(),
    };
  }
  const chain = await startSandboxChain({
    dataFile:
      deps.dataFile === false
        ? undefined
        : (deps.dataFile ?? path.join(config.dataDir, 'sandbox-chain.jsonl')),
    packageId: config.packageId,
    logger: deps.logger.child({ component: 'sandbox-chain' }),
    checkpointIntervalMs: deps.checkpointIntervalMs,
  });
  return { graphqlUrl: chain.graphqlUrl, wallet: chain, stop: () => chain.stop() };
}
