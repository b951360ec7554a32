import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createBus, resolveBusKind, type Bus } from './bus/index.js';
import { withPublishRetry } from './bus/reliable.js';
import { createChainSource, openSandboxChain, type SandboxChainHandle } from './chain/index.js';
import type { Config } from './config/index.js';
import { startExpirySweeper } from './expiry/index.js';
import { buildHttpApp, nodeReadiness } from './http/index.js';
import { Hub } from './hub/index.js';
import { createFreshness } from './indexer/freshness.js';
import { postgresLeadership, soleLeadership, startIndexer, type Indexer } from './indexer/index.js';
import { ClientAddresses } from './limits/index.js';
import { prepareDemoMerchant, type RegisteredMerchant } from './merchants/index.js';
import { createMetrics, type Metrics } from './metrics/index.js';
import { proposalService } from './proposals/index.js';
import { openStore, type DatabaseLocation, type Store } from './store/index.js';
import { CloseCode } from './wire/index.js';
import { attachWebSocket, type WebSocketEndpoint } from './ws/index.js';

/** On shutdown, sockets that have not completed the close handshake by then are terminated. */
const SOCKET_DRAIN_MAX_MS = 2_000;

export interface NodeOptions {
  logger: Logger;
  /** Defaults to the wall clock; tests pass their own. */
  now?: () => Date;
  /** Tests pass an in-memory PGlite; otherwise chosen from the configuration. */
  database?: DatabaseLocation;
  /** Identifies this node on the bus and in logs; random by default. */
  nodeId?: string;
  /** In-process sandbox chain ledger file; `false` keeps it in memory (tests). */
  sandboxChainDataFile?: string | false;
  /** Sandbox: give the demo merchant a fresh key (default); a cluster's primary does it once. */
  prepareDemoMerchant?: boolean;
  /** What `/metrics` serves, given this node's registry; a cluster worker serves every worker's. */
  metricsRegistry?: (own: Registry) => Registry;
}

export interface RunningNode {
  url: string;
  port: number;
  store: Store;
  hub: Hub;
  indexer: Indexer;
  metrics: Metrics;
  webSocket: WebSocketEndpoint;
  /** Sandbox mode: the chain this node indexes and pays on. */
  sandboxChain: SandboxChainHandle | undefined;
  /** Sandbox only, when no ADMIN_TOKEN was configured: generated for this run. */
  generatedAdminToken: string | undefined;
  /** Sandbox only: the demo merchant with a fresh API key. */
  demoMerchant: RegisteredMerchant | undefined;
  stop(): Promise<void>;
}

export function databaseLocation(config: Config): DatabaseLocation {
  return config.databaseUrl
    ? { kind: 'postgres', url: config.databaseUrl }
    : { kind: 'pglite', dataDir: config.dataDir };
}

/** Composition root: every dependency is created here and passed down, nothing is global. */
export async function startNode(config: Config, options: NodeOptions): Promise<RunningNode> {
  const { logger } = options;
  const now = options.now ?? (() => new Date());
  const location = options.database ?? databaseLocation(config);
  const store = await openStore(location);
  const freshness = createFreshness({ store, indexer: () => indexer });
  const hub = new Hub({
    loadState: (transactionId) => store.proposals.state(transactionId),
    loadStates: (transactionIds) => store.proposals.states(transactionIds),
    loadHistory: (transactionId, afterVersion) =>
      store.proposals.history(transactionId, afterVersion),
    freshness: () => freshness.current(),
    onError: (error, transactionId) =>
      logger.error({ err: error, transactionId }, 'snapshot failed'),
    onPushed: (state, pushedAtMs) => {
      if (state.status === 'settled' && state.settledAt)
        metrics.pushLatency.observe(Math.max(0, pushedAtMs - state.settledAt.getTime()) / 1000);
    },
  });
  // The indexer is created further down; gauges are only read once the node is listening.
  const metrics = createMetrics({
    openSockets: () => hub.openSockets,
    socketsByState: () => hub.socketsByState(),
    preloadedTransactions: () => hub.preloadedTransactions,
    indexer: () => indexer.status(),
  });
  const nodeId = options.nodeId ?? `node-${randomBytes(6).toString('hex')}`;
  const busKind = resolveBusKind(config.bus, {
    redisUrl: config.redisUrl,
    storeKind: location.kind,
  });
  const engineBus = await createBus(
    {
      busKind,
      databaseUrl: location.kind === 'postgres' ? location.url : undefined,
      redisUrl: config.redisUrl,
      busChannel: config.busChannel,
    },
    { nodeId, logger },
  );
  const bus: Bus = withPublishRetry(engineBus, logger);

  const generatedAdminToken =
    config.sandbox && !config.adminToken
      ? `adm_${randomBytes(24).toString('base64url')}`
      : undefined;
  const adminToken = config.adminToken ?? generatedAdminToken;
  const demoMerchant =
    config.sandbox && options.prepareDemoMerchant !== false
      ? await prepareDemoMerchant(store, now())
      : undefined;

  const sandboxChain = config.sandbox
    ? await openSandboxChain(config, {
        logger,
        dataFile: options.sandboxChainDataFile,
      })
    : undefined;
  const source = createChainSource(config, { logger, graphqlUrl: sandboxChain?.graphqlUrl });

  const proposals = proposalService({
    store,
    bus,
    config,
    now,
    // The sweeper is created further down; no proposal is made before the node listens.
    onCreated: (expiresAt) => sweeper.expect(expiresAt),
  });
  // Per-IP limits (REST and WebSocket) see through these proxies only.
  const addresses = new ClientAddresses(config.trustedProxies);
  const app = buildHttpApp({
    store,
    proposals,
    config: { adminToken, currencies: config.currencies },
    now,
    logger,
    bodyLimitBytes: config.bodyLimitBytes,
    sandboxWallet: sandboxChain?.wallet,
    metricsRegistry: options.metricsRegistry?.(metrics.registry) ?? metrics.registry,
    freshness: () => freshness.current(),
    rateLimits: {
      limits: config.rest,
      addresses,
      onLimited: (limit) => metrics.httpRateLimited.inc({ limit }),
    },
    corsAllowedOrigins: config.corsAllowedOrigins,
    tls: config.tls,
    timeouts: config.httpTimeouts,
    readiness: nodeReadiness({
      pingStore: () => store.ping(),
      bus,
      indexer: () => indexer.status(),
      maxIndexerLagMs: config.readyMaxIndexerLagMs,
      now,
    }),
  });

  // Notifications sent while the bus was down are lost: re-read what the sockets watch.
  const stopResync = bus.onResubscribed(() => {
    metrics.busReconnects.inc();
    hub.resync().catch((error: unknown) => logger.error({ err: error }, 'resync failed'));
  });
  // Safety net for what no reconnect reveals (a peer's publish lost for good): re-read slowly.
  const resyncTimer =
    config.resyncIntervalMs > 0
      ? setInterval(() => {
          hub.resync().catch((error: unknown) => logger.warn({ err: error }, 'resync failed'));
        }, config.resyncIntervalMs).unref()
      : undefined;
  const unsubscribe = bus.subscribe((states) => {
    for (const state of states) metrics.transitionsReceived.inc({ status: state.status });
    hub.deliver(states);
  });
  // After subscribing: a transition committed while the pages are read reaches the hub too.
  const stopPreload = new AbortController();
  const preloading =
    config.preloadMax > 0
      ? hub
          .preload(
            store.proposals.openStates(now(), {
              max: config.preloadMax,
              signal: stopPreload.signal,
            }),
          )
          .then(
            (count) => logger.info({ transactions: count }, 'open transactions preloaded'),
            (error: unknown) => logger.warn({ err: error }, 'preload failed'),
          )
      : undefined;
  const webSocket = attachWebSocket({
    server: app.server,
    hub,
    logger,
    limits: config.webSocket,
    addresses,
    metrics,
  });
  const sweeper = startExpirySweeper({ store, bus, logger, intervalMs: config.expirySweepMs, now });
  const indexer: Indexer = startIndexer({
    store,
    source,
    bus,
    logger: logger.child({ component: 'indexer' }),
    leadership:
      location.kind === 'postgres' ? postgresLeadership(location.url, logger) : soleLeadership(),
    now,
    onBatch(_batch, applied) {
      for (const state of applied.settled)
        metrics.settlementsApplied.inc({ late: String(state.late) });
      for (const anomaly of applied.anomalies) metrics.anomalies.inc({ reason: anomaly.reason });
    },
  });

  await app.listen({ port: config.port, host: config.host });
  const { port } = app.server.address() as AddressInfo;
  const displayHost = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  logger.info(
    {
      port,
      host: config.host,
      tls: config.tls !== undefined,
      database: store.kind,
      sandbox: config.sandbox,
    },
    'listening',
  );
  logger.info({ nodeId, bus: busKind }, 'node ready');

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      webSocket.close(CloseCode.GoingAway, 'Server shutting down');
      // The HTTP server's close waits for upgraded sockets too: end them first, in bounded time.
      await Promise.all([
        webSocket.drain(Math.min(SOCKET_DRAIN_MAX_MS, config.shutdownTimeoutMs / 4)),
        sweeper.stop(),
      ]);
      stopPreload.abort();
      await app.close();
      await preloading;
      await indexer.stop();
      clearInterval(resyncTimer);
      unsubscribe();
      stopResync();
      await bus.close();
      await sandboxChain?.stop();
      await store.close();
    })();
    return stopping;
  };

  return {
    url: `${config.tls ? 'https' : 'http'}://${displayHost.includes(':') ? `[${displayHost}]` : displayHost}:${port}`,
    port,
    store,
    hub,
    indexer,
    metrics,
    webSocket,
    sandboxChain,
    generatedAdminToken,
    demoMerchant,
    stop,
  };
}
