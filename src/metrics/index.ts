import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The node's Prometheus metrics, on a registry of its own (no global default), so that several
 * nodes in one test process do not share counters.
 */
export interface MetricSources {
  openSockets(): number;
  /** Sockets loading their first state (or catching up) and live ones: read at scrape time. */
  socketsByState(): { loading: number; live: number };
  /** Open transactions read ahead at start that no socket here has watched yet. */
  preloadedTransactions(): number;
  indexer():
    | { role: string; checkpoint?: bigint; checkpointTimestamp?: Date; tipCheckpoint?: bigint }
    | undefined;
}

/** Message types the WebSocket sends (the `type` field). */
export const MESSAGE_TYPES = ['status', 'settlement', 'error'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

/**
 * Messages sent, by type: plain integers bumped on the send path (a label lookup in prom-client
 * builds a string per call), copied into the counter when /metrics is scraped.
 */
export type MessageTally = Record<MessageType, number>;

export function createMetrics(sources: MetricSources) {
  const registry = new Registry();
  const messagesSent: MessageTally = { status: 0, settlement: 0, error: 0 };
  collectDefaultMetrics({ register: registry, prefix: 'identipay_process_' });
  const metrics = {
    registry,
    openSockets: new Gauge({
      name: 'identipay_ws_open_sockets',
      help: 'WebSocket connections open on this node',
      registers: [registry],
      collect() {
        this.set(sources.openSockets());
      },
    }),
    wsSockets: new Gauge({
      name: 'identipay_ws_sockets',
      help: 'WebSocket connections watched by the hub, by state: loading (first read or catch-up in flight) or live',
      labelNames: ['state'] as const,
      registers: [registry],
      collect() {
        const { loading, live } = sources.socketsByState();
        this.set({ state: 'loading' }, loading);
        this.set({ state: 'live' }, live);
      },
    }),
    preloadedTransactions: new Gauge({
      name: 'identipay_hub_preloaded_transactions',
      help: 'Open transactions this node read at start that no socket here has watched yet (dropped at the first resync)',
      registers: [registry],
      collect() {
        this.set(sources.preloadedTransactions());
      },
    }),
    pushLatency: new Histogram({
      name: 'identipay_push_latency_seconds',
      help:
        "Seconds from a settlement's checkpoint timestamp to this node pushing it live to its " +
        'sockets (once per settlement, however many sockets watch it)',
      buckets: [0.25, 0.5, 1, 2, 3, 5, 10, 30, 60, 300],
      registers: [registry],
    }),
    messagesSent,
    wsMessagesSent: new Counter({
      name: 'identipay_ws_messages_sent_total',
      help: 'WebSocket messages sent by this node, by type',
      labelNames: ['type'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const type of MESSAGE_TYPES) this.inc({ type }, messagesSent[type]);
      },
    }),
    wsCloses: new Counter({
      name: 'identipay_ws_closes_total',
      help:
        'WebSocket connections ended, by close code: the code the server closed with, else the ' +
        "client's (1005: none given), 1006 when the connection ended without a close frame",
      labelNames: ['code'] as const,
      registers: [registry],
    }),
    wsConnectsRejected: new Counter({
      name: 'identipay_ws_connects_rejected_total',
      help:
        'WebSocket connects refused, by reason: path, shutting_down, origin, upgrade_rate, ' +
        'node_full (HTTP refusals before the upgrade) and ip_limit, transaction_limit (4429)',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    wsHeartbeatTimeouts: new Counter({
      name: 'identipay_ws_heartbeat_timeouts_total',
      help: 'Sockets terminated because they did not answer a ping within one heartbeat interval',
      registers: [registry],
    }),
    httpRateLimited: new Counter({
      name: 'identipay_http_rate_limited_total',
      help: 'REST requests refused with 429, by the limit they hit (ip or key)',
      labelNames: ['limit'] as const,
      registers: [registry],
    }),
    transitionsReceived: new Counter({
      name: 'identipay_transitions_received_total',
      help: 'Committed transitions this node heard on the bus, by new status',
      labelNames: ['status'] as const,
      registers: [registry],
    }),
    busReconnects: new Counter({
      name: 'identipay_bus_reconnects_total',
      help: 'Times the bus re-subscribed after losing its connection (each triggers a resync)',
      registers: [registry],
    }),
    settlementsApplied: new Counter({
      name: 'identipay_indexer_settlements_applied_total',
      help: 'Verified settlements the indexer applied (late ones included)',
      labelNames: ['late'] as const,
      registers: [registry],
    }),
    anomalies: new Counter({
      name: 'identipay_indexer_anomalies_total',
      help: 'Settlement events that failed verification, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    indexerCheckpoint: new Gauge({
      name: 'identipay_indexer_checkpoint',
      help: 'Last checkpoint the indexer processed completely',
      registers: [registry],
      collect() {
        const checkpoint = sources.indexer()?.checkpoint;
        if (checkpoint !== undefined) this.set(Number(checkpoint));
      },
    }),
    indexerLagCheckpoints: new Gauge({
      name: 'identipay_indexer_lag_checkpoints',
      help: "Checkpoints between the chain's tip (as last seen) and the last one processed",
      registers: [registry],
      collect() {
        const status = sources.indexer();
        if (status?.checkpoint === undefined) return;
        const tip = status.tipCheckpoint ?? status.checkpoint;
        this.set(Math.max(0, Number(tip - status.checkpoint)));
      },
    }),
    indexerLagSeconds: new Gauge({
      name: 'identipay_indexer_lag_seconds',
      help: 'Now minus the timestamp of the last checkpoint processed',
      registers: [registry],
      collect() {
        const at = sources.indexer()?.checkpointTimestamp;
        if (at) this.set(Math.max(0, (Date.now() - at.getTime()) / 1000));
      },
    }),
    indexerLeader: new Gauge({
      name: 'identipay_indexer_leader',
      help: '1 while this node holds the indexer role',
      registers: [registry],
      collect() {
        this.set(sources.indexer()?.role === 'leader' ? 1 : 0);
      },
    }),
  };
  return metrics;
}

export type Metrics = ReturnType<typeof createMetrics>;
