import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import type { WebSocketLimits } from '../config/index.js';
import { AppError } from '../errors.js';
import type { Hub } from '../hub/index.js';
import {
  ConnectionCounts,
  RateLimiter,
  RetryLaterError,
  type ClientAddresses,
} from '../limits/index.js';
import type { Metrics } from '../metrics/index.js';
import { isTransactionId } from '../wire/index.js';
import { DeferredCloses } from './closes.js';
import { Connection, type ConnectionContext } from './connection.js';
import { SlicedRounds } from './rounds.js';
import { decodeSafely, parseVersion, peerAddress, refuseUpgrade, splitUrl } from './upgrade.js';

export { parseVersion } from './upgrade.js';

const WS_PATH = /^\/ws\/transactions\/([^/?#]*)$/;

/** Client frames carry nothing we read: anything larger than this is abuse (close 1009). */
export const MAX_CLIENT_FRAME_BYTES = 128;

/** The heartbeat pings a slice of the sockets this often (see the heartbeat below). */
const HEARTBEAT_TICK_MS = 100;

/** What a node that is full tells clients (and load balancers) to wait before trying again. */
const NODE_FULL_RETRY_AFTER_SECONDS = 5;

export interface WebSocketDeps {
  server: Server;
  hub: Hub;
  logger: Logger;
  limits: WebSocketLimits;
  addresses: ClientAddresses;
  metrics: Pick<
    Metrics,
    'messagesSent' | 'wsCloses' | 'wsConnectsRejected' | 'wsHeartbeatTimeouts'
  >;
}

/** What the limits hold right now: every figure is 0 once every socket has closed. */
export interface WebSocketCounts {
  sockets: number;
  /** Sockets counted against client addresses, and how many addresses that is. */
  addressSlots: number;
  addresses: number;
  /** Sockets counted against transactions, and how many transactions that is. */
  transactionSlots: number;
  transactions: number;
}

export interface WebSocketEndpoint {
  /** Closes every socket with `code`, stops accepting upgrades and the heartbeat. */
  close(code: number, reason: string): void;
  /**
   * Resolves once every socket has ended; sockets still open after `graceMs` (a peer that never
   * answers the close frame) are terminated. Without this the HTTP server's close would wait
   * for them (ws gives a closing handshake 30 s).
   */
  drain(graceMs: number): Promise<void>;
  counts(): WebSocketCounts;
}

type RejectReason = 'path' | 'shutting_down' | 'origin' | 'upgrade_rate' | 'node_full';

/** Until ws takes the socket over: one function for every socket, not a closure each. */
function destroySocket(this: Duplex): void {
  this.destroy();
}

/**
 * Read-only status sockets at /ws/transactions/:txId. Only that path upgrades; any other
 * upgrade request gets a plain HTTP 404 and never becomes a WebSocket.
 *
 *   upgrade request ─► path? ─ no ─► 404          (HTTP refusals: no WebSocket is created)
 *                      Origin allowed? ─ no ─► 403
 *                      upgrade rate of the IP? ─ over ─► 429 + Retry-After
 *                      sockets on this node < WS_MAX_SOCKETS? ─ no ─► 503 + Retry-After
 *        ─► upgrade ─► sockets of the IP < max? ─ no ─► error + 4429
 *                      valid id and since? ─ no ─► error + 4400
 *                      sockets of the transaction < max? ─ no ─► error + 4429
 *                      hub.watch
 */
export function attachWebSocket(deps: WebSocketDeps): WebSocketEndpoint {
  const { server, hub, logger, limits, addresses, metrics } = deps;
  // Compression costs ~200 KB per socket for frames of ~150 bytes: not worth it.
  const wss = new WebSocketServer<typeof Connection>({
    WebSocket: Connection,
    noServer: true,
    perMessageDeflate: false,
    maxPayload: MAX_CLIENT_FRAME_BYTES,
    clientTracking: false,
  });
  const connections = new Set<Connection>();
  const perAddress = new ConnectionCounts();
  const upgrades = new RateLimiter(limits.upgradesPerMinutePerIp);
  const allowedOrigins = new Set(limits.allowedOrigins);
  let accepting = true;
  let onDrained: (() => void) | undefined;

  const refuse = (socket: Duplex, reason: RejectReason, error: AppError) => {
    metrics.wsConnectsRejected.inc({ reason });
    logger.debug({ reason, status: error.httpStatus }, 'websocket upgrade refused');
    refuseUpgrade(socket, error);
  };

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', destroySocket);
    const { path, query } = splitUrl(request.url);
    const match = WS_PATH.exec(path);
    if (!match) {
      return refuse(socket, 'path', new AppError('not_found', 'No WebSocket endpoint here'));
    }
    if (!accepting) {
      return refuse(socket, 'shutting_down', new AppError('unavailable', 'Shutting down'));
    }
    // Browsers always send Origin; other clients need not (and could send anything).
    const origin = request.headers.origin;
    if (
      allowedOrigins.size > 0 &&
      origin !== undefined &&
      !allowedOrigins.has(origin.toLowerCase())
    ) {
      return refuse(socket, 'origin', new AppError('forbidden', 'Origin not allowed'));
    }
    const address = addresses.resolve(
      peerAddress(request.socket),
      request.headers['x-forwarded-for'],
    );
    const wait = upgrades.take(address);
    if (wait > 0) {
      const message = `Too many connection attempts from this address: retry in ${wait} s`;
      return refuse(
        socket,
        'upgrade_rate',
        new RetryLaterError('too_many_requests', message, wait),
      );
    }
    if (connections.size >= limits.maxSockets) {
      const error = new RetryLaterError(
        'unavailable',
        'This node is at its connection limit: retry later or elsewhere',
        NODE_FULL_RETRY_AFTER_SECONDS,
      );
      return refuse(socket, 'node_full', error);
    }
    const rawId = decodeSafely(match[1] ?? '');
    const since = query === undefined ? null : new URLSearchParams(query).get('since');
    // The 101 response waits, corked, for the socket's first frame: both leave in one write,
    // whether the hub has the snapshot at once or reads it first (up to a batch interval). Only
    // a plain watch is sure to send one (a snapshot, or an error and a close); a resume that is
    // up to date sends nothing until the next transition, so its 101 leaves at once.
    socket.cork();
    let held = false;
    wss.handleUpgrade(request, socket, head, (connection) => {
      // ws handles the socket's errors from here on.
      socket.removeListener('error', destroySocket);
      if (since === null) {
        connection.holdHandshake(socket);
        held = true;
      }
      onConnection(connection, address, rawId, since);
    });
    if (!held) socket.uncork();
  };

  const onClosed = (connection: Connection) => {
    connections.delete(connection);
    if (connections.size === 0) onDrained?.();
    if (connection.heldAddress !== undefined) perAddress.release(connection.heldAddress);
    connection.watch?.unwatch();
  };
  const closes = new DeferredCloses();
  const context: ConnectionContext = { policy: limits, metrics, logger, onClosed, closes };

  const onConnection = (
    connection: Connection,
    address: string,
    rawId: string | undefined,
    rawSince: string | null,
  ) => {
    connection.attach(context);
    connections.add(connection);
    const fail = (error: AppError, reason: string, limit?: 'ip_limit' | 'transaction_limit') => {
      if (limit) metrics.wsConnectsRejected.inc({ reason: limit });
      connection.reject(error.closeCode, reason, error.message);
    };
    const tooMany = (limit: 'ip_limit' | 'transaction_limit', what: string, max: number) => {
      const reason = `Too many connections ${what}`;
      fail(new AppError('too_many_requests', `${reason} (at most ${max})`), reason, limit);
    };

    if (!perAddress.tryAcquire(address, limits.maxSocketsPerIp)) {
      return tooMany('ip_limit', 'from this address', limits.maxSocketsPerIp);
    }
    connection.heldAddress = address;
    if (rawId === undefined || !isTransactionId(rawId)) {
      const error = new AppError('bad_request', 'Invalid transaction id: expected a UUID');
      return fail(error, 'Invalid transaction id');
    }
    const since = rawSince === null ? undefined : parseVersion(rawSince);
    if (since === null) {
      const error = new AppError(
        'bad_request',
        'Invalid since: expected a version, a whole number ≥ 0',
      );
      return fail(error, 'Invalid since');
    }
    const transactionId = rawId.toLowerCase();
    // The hub's own count of a transaction's sockets is the per-transaction limit's.
    if (hub.watchersOf(transactionId) >= limits.maxSocketsPerTransaction) {
      return tooMany('transaction_limit', 'to this transaction', limits.maxSocketsPerTransaction);
    }
    connection.watch = hub.watch(transactionId, connection, since);
  };

  // One timer per node, whatever the number of sockets. A round visits every socket once per
  // interval, a slice per tick (SlicedRounds): one loop over them all stalled the node (148 -
  // 177 ms at 12,000 sockets, delaying whatever push was due meanwhile). A socket's two visits
  // can come closer than an interval when many before it closed, so a ping gets at least half
  // an interval to be answered (`patience`), whatever the visits.
  const slices = Math.max(1, Math.floor(limits.heartbeatMs / HEARTBEAT_TICK_MS));
  const patience = Math.ceil(slices / 2);
  const rounds = new SlicedRounds(connections, slices);
  let tick = 0;
  const visit = (connection: Connection) => {
    if (!connection.heartbeat(tick, patience)) metrics.wsHeartbeatTimeouts.inc();
  };
  const heartbeat = setInterval(() => {
    tick++;
    rounds.tick(visit);
  }, limits.heartbeatMs / slices).unref();

  server.on('upgrade', onUpgrade);
  return {
    close(code, reason) {
      accepting = false;
      clearInterval(heartbeat);
      closes.flush();
      hub.closeAll(code, reason);
      // Sockets the hub does not know (being refused) close too.
      for (const connection of connections) connection.closeWith(code, reason);
    },
    drain(graceMs) {
      if (connections.size === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          for (const connection of connections) connection.terminate();
        }, graceMs);
        onDrained = () => {
          clearTimeout(timer);
          onDrained = undefined;
          resolve();
        };
      });
    },
    counts: () => ({
      sockets: connections.size,
      addressSlots: perAddress.total,
      addresses: perAddress.keys,
      transactionSlots: hub.openSockets,
      transactions: hub.watchedTransactions,
    }),
  };
}
