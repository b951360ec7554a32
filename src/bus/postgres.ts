import type { Logger } from 'pino';
import postgres from 'postgres';
import type { TransactionState } from '../store/index.js';
import { encodeMessages } from './codec.js';
import type { Bus, InTransactionNotice } from './index.js';
import {
  BusClosedError,
  DEFAULT_BUS_CHANNEL,
  PUBLISH_TIMEOUT_MS,
  assertChannelName,
  connectionName,
  createGuardedFanOut,
  createSignal,
  receiveMessage,
  reconnectDelayMs,
  withTimeout,
} from './support.js';

export interface PostgresBusOptions {
  url: string;
  nodeId: string;
  logger: Logger;
  channel?: string;
  /** Publish through this client (left open on close) instead of a small one of the bus's own. */
  publishClient?: postgres.Sql;
}

/** Seconds, as postgres.js wants them: a floor under our own backoff, never a 20 s wait. */
const driverBackoff = (retries: number) => reconnectDelayMs(retries) / 1000;

/**
 * The bus on Postgres LISTEN/NOTIFY. Resolves once LISTEN is active; rejects when the first
 * attempt fails (a node should not start deaf).
 *
 *   publish ──► one pg_notify statement for all its chunks (one publish at a time)
 *          └──► next turn: local listeners (before publish resolves, whatever the engine does)
 *   LISTEN connection ──► decode ──► drop own origin / garbage ──► local listeners
 *        │ closed
 *        └──► subscribed = false ──► LISTEN again (backoff ≤ 2 s) ──► onResubscribed
 *
 * Why not `sql.listen()`: it re-listens after a reconnect, but it says nothing when the
 * connection drops (`subscribed` could not go false), swallows the errors of failed re-listens
 * (nothing to log), and overrides the client's `onclose`. This does what it does, in the open:
 * a dedicated one-connection client whose `onnotify`/`onclose` hooks are ours.
 */
export async function createPostgresBus(options: PostgresBusOptions): Promise<Bus> {
  const { url, nodeId, logger, channel = DEFAULT_BUS_CHANNEL } = options;
  assertChannelName(channel);
  const log = logger.child({ component: 'bus', engine: 'postgres', channel });
  const fanOut = createGuardedFanOut(log);
  const resubscribed = createSignal(log);

  let subscribed = false;
  let started = false;
  let closing = false;
  let attempt = 0;
  let listenInFlight = false;
  let retryTimer: NodeJS.Timeout | undefined;

  // `onnotify` is the hook `sql.listen()` itself uses; postgres.js does not type it.
  const listenerOptions = {
    max: 1,
    idle_timeout: 0,
    max_lifetime: null,
    fetch_types: false,
    connect_timeout: 5,
    backoff: driverBackoff,
    onnotice: () => {},
    connection: { application_name: connectionName('listen', nodeId) },
    onnotify: (from: string, payload: string) => {
      if (from === channel && !closing) receiveMessage(payload, { nodeId, fanOut, log });
    },
    onclose: () => onListenerClosed(),
  };
  const listener = postgres(url, listenerOptions);
  const ownsPublisher = options.publishClient === undefined;
  const publisher =
    options.publishClient ??
    postgres(url, {
      max: 2,
      // Kept open for good (opened at start, below): a publish that had to connect first (a new
      // backend process) took about 90 ms instead of a few, with 50,000 sockets on 4 workers.
      max_lifetime: null,
      fetch_types: false,
      connect_timeout: 5,
      backoff: driverBackoff,
      onnotice: () => {},
      connection: { application_name: connectionName('publish', nodeId) },
    });

  const listenStatement = `listen "${channel}"`;

  function onListenerClosed(): void {
    if (!started || closing) return;
    if (subscribed) log.warn('bus LISTEN connection lost; listening again');
    subscribed = false;
    relisten();
  }

  /** One attempt at a time; a failure schedules the next, a success announces itself. */
  function relisten(): void {
    if (closing || listenInFlight || retryTimer) return;
    listenInFlight = true;
    listener.unsafe(listenStatement).then(
      () => {
        listenInFlight = false;
        if (closing) return;
        attempt = 0;
        subscribed = true;
        log.info('bus listening again');
        resubscribed.fire();
      },
      (error: unknown) => {
        listenInFlight = false;
        if (closing) return;
        const delayMs = reconnectDelayMs(attempt++);
        log.warn({ err: error, delayMs }, 'bus LISTEN failed; retrying');
        retryTimer = setTimeout(() => {
          retryTimer = undefined;
          relisten();
        }, delayMs);
      },
    );
  }

  const endClients = () =>
    Promise.all([listener.end({ timeout: 1 }), ownsPublisher && publisher.end({ timeout: 1 })]);

  try {
    await Promise.all([listener.unsafe(listenStatement), publisher`select 1`]);
  } catch (error) {
    closing = true;
    await endClients();
    throw new Error(`the Postgres bus could not LISTEN: ${(error as Error).message}`, {
      cause: error,
    });
  }
  started = true;
  subscribed = true;

  // Publishes go out one at a time, each after the previous settled: with a pool, two in
  // flight could commit (and so be delivered) out of order. The caller's wait is bounded; the
  // chain's is not, so a slow send delays the next one instead of being overtaken by it.
  let tail: Promise<unknown> = Promise.resolve();
  // Every chunk of a publish goes in one statement (one round trip, one transaction: listeners
  // get all of them or none): 22 chunks of 7.4 KB (1,000 settlements) reached three listeners
  // in 3.2 ms (median) against 6.4 - 6.8 ms with one statement per chunk, on a quiet machine.
  // They travel as one text, a line each (JSON as encoded never holds a raw line break), which
  // Postgres splits without parsing: 1.1 ms for that statement against 2.4 as a JSON array of
  // strings (docs/benchmarks.md). unnest yields the array in order, the scan notifies in that
  // order, and Postgres delivers a transaction's notifications in the order sent.
  // The store runs the same statement inside the indexer's transaction (`inTransaction`).
  const lines = (states: readonly TransactionState[]) => encodeMessages(nodeId, states).join('\n');
  const send = async (text: string) => {
    await publisher`select count(pg_notify(${channel}, chunk))
      from unnest(string_to_array(${text}::text, chr(10))) as chunk`;
  };
  const inTransaction: InTransactionNotice = {
    channel,
    lines,
    committed(states) {
      fanOut.deliver(states);
    },
  };

  return {
    nodeId,
    get subscribed() {
      return subscribed;
    },
    async publish(states) {
      if (states.length === 0) return;
      if (closing) {
        fanOut.deliver(states);
        throw new BusClosedError();
      }
      const text = lines(states);
      const sent = tail.then(() => send(text));
      tail = sent.catch(() => {});
      // The statement first, this node's sockets after: postgres.js writes it a few microtasks
      // from now, so the local fan-out waits for the next turn. The other nodes' wait for the
      // engine then overlaps it instead of following it (see docs/benchmarks.md).
      await new Promise((resolve) => setImmediate(resolve));
      fanOut.deliver(states);
      await withTimeout(sent, PUBLISH_TIMEOUT_MS, 'bus publish');
    },
    inTransaction,
    subscribe: fanOut.subscribe,
    onResubscribed: resubscribed.add,
    async close() {
      if (closing) return;
      closing = true;
      subscribed = false;
      clearTimeout(retryTimer);
      fanOut.clear();
      resubscribed.clear();
      await withTimeout(tail, PUBLISH_TIMEOUT_MS, 'pending bus publishes').catch(() => {});
      await endClients();
    },
  };
}
