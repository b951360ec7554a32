import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { encodeMessages } from './codec.js';
import type { Bus } from './index.js';
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

const START_TIMEOUT_MS = 10_000;

export interface RedisBusOptions {
  url: string;
  nodeId: string;
  logger: Logger;
  channel?: string;
}

/**
 * The bus on Redis pub/sub: one subscriber connection, one publisher connection. Resolves once
 * subscribed; rejects when the first connection fails (a node should not start deaf).
 *
 *   publish ──► local listeners (sync) ──► PUBLISH per chunk on one connection (in order)
 *   subscriber ──► decode ──► drop own origin / garbage ──► local listeners
 *        │ closed                       ioredis reconnects (backoff ≤ 2 s) and re-subscribes;
 *        └──► subscribed = false ──► ready ──► SUBSCRIBE confirmed ──► onResubscribed
 */
export async function createRedisBus(options: RedisBusOptions): Promise<Bus> {
  const { url, nodeId, logger, channel = DEFAULT_BUS_CHANNEL } = options;
  assertChannelName(channel);
  const log = logger.child({ component: 'bus', engine: 'redis', channel });
  const fanOut = createGuardedFanOut(log);
  const resubscribed = createSignal(log);

  let subscribed = false;
  let started = false;
  let closing = false;
  let readyEpoch = 0;

  const common: RedisOptions = {
    lazyConnect: true,
    connectTimeout: 5_000,
    // ioredis counts attempts from 1; never giving up (no non-number) is the point of a bus.
    retryStrategy: (times) => reconnectDelayMs(times - 1),
  };
  const subscriber = new Redis(url, {
    ...common,
    connectionName: connectionName('listen', nodeId),
    // SUBSCRIBE is the only command it sends: let it wait out an outage rather than fail.
    maxRetriesPerRequest: null,
    autoResubscribe: true,
  });
  const publisher = new Redis(url, {
    ...common,
    connectionName: connectionName('publish', nodeId),
    // A blip is ridden out from the offline queue (in order); an outage fails the publish
    // after two reconnect attempts, and the timeout bounds every other way of hanging.
    maxRetriesPerRequest: 2,
    commandTimeout: PUBLISH_TIMEOUT_MS,
  });

  watchErrors(subscriber, 'subscriber', log, () => closing);
  watchErrors(publisher, 'publisher', log, () => closing);
  subscriber.on('message', (from: string, text: string) => {
    if (from === channel && !closing) receiveMessage(text, { nodeId, fanOut, log });
  });
  subscriber.on('reconnecting', (delayMs: number) => {
    if (!closing) log.debug({ delayMs }, 'bus subscriber reconnecting');
  });
  subscriber.on('close', () => {
    if (!started || closing) return;
    if (subscribed) log.warn('bus subscriber connection lost; ioredis reconnects');
    subscribed = false;
  });
  // ioredis re-subscribes before it emits 'ready'; our own SUBSCRIBE queues behind its one, so
  // its reply means the channel is live again and nothing published from now on is missed.
  subscriber.on('ready', () => {
    if (!started || closing) return;
    const epoch = ++readyEpoch;
    subscriber.subscribe(channel).then(
      () => {
        if (epoch !== readyEpoch || closing) return;
        subscribed = true;
        log.info('bus subscribed again');
        resubscribed.fire();
      },
      (error: unknown) => log.warn({ err: error }, 'bus re-subscribe failed'),
    );
  });

  try {
    // Bounded: the subscriber waits out outages (see above), a node's start must not.
    const ready = Promise.all([subscriber.connect(), publisher.connect()]).then(() =>
      subscriber.subscribe(channel),
    );
    await withTimeout(ready, START_TIMEOUT_MS, 'subscribing');
  } catch (error) {
    closing = true;
    await Promise.all([endRedis(subscriber), endRedis(publisher)]);
    throw new Error(`the Redis bus could not subscribe: ${(error as Error).message}`, {
      cause: error,
    });
  }
  started = true;
  subscribed = true;

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
      // Issued back to back on one connection (or its offline queue): Redis keeps their order.
      // ioredis writes each to the socket at once, so the other nodes' wait for the engine
      // starts before this node's own fan-out, not after it.
      const sent = encodeMessages(nodeId, states).map((message) =>
        publisher.publish(channel, message),
      );
      fanOut.deliver(states);
      await Promise.all(sent);
    },
    subscribe: fanOut.subscribe,
    onResubscribed: resubscribed.add,
    async close() {
      if (closing) return;
      closing = true;
      subscribed = false;
      fanOut.clear();
      resubscribed.clear();
      await Promise.all([endRedis(subscriber), endRedis(publisher)]);
    },
  };
}

/**
 * ioredis emits 'error' on every failed reconnect; unhandled, that would crash the process.
 * The first of a run is a warning, its repeats only debug noise until the connection is back.
 */
function watchErrors(client: Redis, role: string, log: Logger, closing: () => boolean): void {
  let last: string | undefined;
  client.on('error', (error: Error) => {
    if (closing()) return;
    const level = error.message === last ? 'debug' : 'warn';
    last = error.message;
    log[level]({ err: error, role }, 'bus connection error');
  });
  client.on('ready', () => {
    last = undefined;
  });
}

/**
 * QUIT when connected (pending replies arrive first), else drop; resolves once it has ended.
 * Between a lost connection and the next attempt there is no socket left to close, so ioredis
 * emits no 'end' then: dropping it is all there is to do.
 */
async function endRedis(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  if (client.status === 'close' || client.status === 'reconnecting') {
    client.disconnect();
    return;
  }
  const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
  if (client.status === 'ready') {
    await client.quit().catch(() => client.disconnect());
  } else {
    client.disconnect();
  }
  await withTimeout(ended, 2_000, 'closing a Redis connection').catch(() => {});
}
