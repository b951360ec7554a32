import { randomUUID } from 'node:crypto';
import net, { type AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { Redis } from 'ioredis';
import pino, { type Logger } from 'pino';
import postgres from 'postgres';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { postgresForTests, type TestDatabase } from '../../test/support/postgres.js';
import { redisForTests } from '../../test/support/redis.js';
import { waitFor } from '../../test/support/wait.js';
import type { TransactionState } from '../store/index.js';
import { encodeMessages } from './codec.js';
import { createBus, type Bus, type BusConfig } from './index.js';
import { createPostgresBus } from './postgres.js';
import { BusClosedError, MAX_RECONNECT_DELAY_MS, connectionName } from './support.js';

const pg = await postgresForTests();
const redis = await redisForTests();

/** One engine the suite runs over: how to reach it, and how a test reaches behind the bus. */
interface Engine {
  name: string;
  available: boolean;
  /** Several nodes can share it: the cross-node, garbage and reconnect tests apply. */
  shared: boolean;
  setUp(): Promise<void>;
  tearDown(): Promise<void>;
  /** A fresh channel per test, so nothing one test published can reach the next. */
  nextChannel(): void;
  /** The bus configuration; `url` replaces the engine's (to go through a proxy). */
  config(url?: string): BusConfig;
  /** Where the engine listens, for the proxy. */
  url(): string;
  /** Sends a raw payload on the channel, bypassing the codec. */
  sendRaw(payload: string): Promise<void>;
  /** Cuts the node's subscription connection from the server side; returns how many it cut. */
  cutSubscription(nodeId: string): Promise<number>;
}

const local: Engine = {
  name: 'in-process',
  available: true,
  shared: false,
  setUp: async () => {},
  tearDown: async () => {},
  nextChannel: () => {},
  config: () => ({ busKind: 'local' }),
  url: () => '',
  sendRaw: async () => {},
  cutSubscription: async () => 0,
};

function postgresEngine(): Engine {
  let database: TestDatabase | undefined;
  let admin: postgres.Sql | undefined;
  let channel = '';
  let count = 0;
  const need = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('postgres engine not set up');
    return value;
  };
  return {
    name: 'Postgres LISTEN/NOTIFY',
    available: pg.available,
    shared: true,
    async setUp() {
      database = await pg.createDatabase();
      admin = postgres(database.url, { max: 1, onnotice: () => {} });
    },
    async tearDown() {
      await admin?.end({ timeout: 1 });
      await database?.drop();
    },
    nextChannel() {
      channel = `bus_test_${++count}`;
    },
    config: (url) => ({
      busKind: 'postgres',
      databaseUrl: url ?? need(database).url,
      busChannel: channel,
    }),
    url: () => need(database).url,
    async sendRaw(payload) {
      await need(admin)`select pg_notify(${channel}, ${payload})`;
    },
    async cutSubscription(nodeId) {
      const cut = await need(admin)`
        select pg_terminate_backend(pid) as cut from pg_stat_activity
        where application_name = ${connectionName('listen', nodeId)}
          and datname = current_database()`;
      return cut.filter((row) => row.cut === true).length;
    },
  };
}

function redisEngine(): Engine {
  let admin: Redis | undefined;
  let channel = '';
  const need = (): Redis => {
    if (!admin) throw new Error('redis engine not set up');
    return admin;
  };
  return {
    name: 'Redis pub/sub',
    available: redis.available,
    shared: true,
    async setUp() {
      admin = redis.connect();
    },
    async tearDown() {
      await admin?.quit();
    },
    nextChannel() {
      channel = redis.uniqueChannel('bus_test');
    },
    config: (url) => ({ busKind: 'redis', redisUrl: url ?? redis.url, busChannel: channel }),
    url: () => redis.url,
    async sendRaw(payload) {
      await need().publish(channel, payload);
    },
    // `CLIENT KILL TYPE pubsub`, narrowed to this node's subscriber by ID: other test files
    // may be using the same Redis at the same time.
    async cutSubscription(nodeId) {
      const list = (await need().call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string;
      const name = `name=${connectionName('listen', nodeId)}`;
      const ids = list
        .split('\n')
        .filter((line) => line.split(' ').includes(name))
        .map((line) => /(?:^| )id=(\d+)/.exec(line)?.[1])
        .filter((id): id is string => id !== undefined);
      let cut = 0;
      for (const id of ids) {
        cut += Number(await need().call('CLIENT', 'KILL', 'TYPE', 'pubsub', 'ID', id));
      }
      return cut;
    },
  };
}

const engines: Engine[] = [local, postgresEngine(), redisEngine()];

/** A debug logger whose records the test can read. */
interface LogRecord {
  msg: string;
  level: number;
  delayMs?: number;
}
function capturingLogger(): { logger: Logger; records: LogRecord[] } {
  const records: LogRecord[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      records.push(JSON.parse(chunk.toString()) as LogRecord);
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), records };
}

const transactionId = randomUUID();
/** Node ids name server-side connections; runs sharing one Redis must not cut each other's. */
const runId = randomUUID().slice(0, 8);
function state(version: number, extra: Partial<TransactionState> = {}): TransactionState {
  return {
    transactionId,
    status: 'pending',
    version,
    suiTxDigest: null,
    settledAt: null,
    late: false,
    ...extra,
  };
}
const versions = (from: number, count: number) =>
  Array.from({ length: count }, (_, index) => state(from + index));

/** Everything a bus's listeners heard, in order, and how many deliveries it took. */
function record(bus: Bus) {
  const heard: TransactionState[] = [];
  let deliveries = 0;
  bus.subscribe((states) => {
    deliveries++;
    heard.push(...states);
  });
  return {
    heard,
    get deliveries() {
      return deliveries;
    },
    versions: () => heard.map((s) => s.version),
  };
}

function nextResubscription(bus: Bus, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`${bus.nodeId} did not re-subscribe within ${timeoutMs} ms`));
    }, timeoutMs);
    const stop = bus.onResubscribed(() => {
      clearTimeout(timer);
      stop();
      resolve();
    });
  });
}

/** A TCP proxy the test can take down and bring back, to stand for an engine outage. */
async function startProxy(targetUrl: string) {
  const target = new URL(targetUrl);
  const targetPort = Number(target.port || (target.protocol === 'redis:' ? 6379 : 5432));
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  let port = 0;
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  };
  const start = () =>
    new Promise<void>((resolve, reject) => {
      const listening = net.createServer((client) => {
        const upstream = net.connect(targetPort, target.hostname);
        track(client);
        track(upstream);
        client.pipe(upstream).on('error', () => client.destroy());
        upstream.pipe(client).on('error', () => upstream.destroy());
        client.on('error', () => upstream.destroy());
        upstream.on('error', () => client.destroy());
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      listening.once('error', reject);
      listening.listen(port, '127.0.0.1', () => {
        port = (listening.address() as AddressInfo).port;
        server = listening;
        resolve();
      });
    });
  const stop = async () => {
    const closed = new Promise<void>((resolve) =>
      server ? server.close(() => resolve()) : resolve(),
    );
    server = undefined;
    for (const socket of sockets) socket.destroy();
    await closed;
  };
  await start();
  return {
    url() {
      const via = new URL(targetUrl);
      via.hostname = '127.0.0.1';
      via.port = String(port);
      return via.toString();
    },
    start,
    stop,
  };
}

function resourceCounts(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo())
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return counts;
}

/** The one suite every implementation runs: what any `Bus` must do, alone and shared. */
function busSuite(engine: Engine): void {
  const open: Bus[] = [];
  const start = async (name: string, options: { url?: string; logger?: Logger } = {}) => {
    const bus = await createBus(engine.config(options.url), {
      nodeId: `${name}-${runId}`,
      logger: options.logger ?? pino({ level: 'silent' }),
    });
    open.push(bus);
    return bus;
  };

  beforeAll(() => engine.setUp());
  afterAll(() => engine.tearDown());
  beforeEach(() => engine.nextChannel());
  afterEach(async () => {
    await Promise.all(open.splice(0).map((bus) => bus.close()));
  });

  it('delivers its own publishes to local listeners once, before publish resolves', async () => {
    const bus = await start('a');
    expect(bus.subscribed).toBe(true);
    const a = record(bus);
    await bus.publish([state(1)]);
    expect(a.versions()).toEqual([1]);
    await bus.publish([]);
    expect(a.deliveries).toBe(1);
  });

  it('stops delivering to a listener once it unsubscribed', async () => {
    const bus = await start('a');
    const kept = record(bus);
    const dropped: TransactionState[] = [];
    const unsubscribe = bus.subscribe((states) => dropped.push(...states));
    await bus.publish([state(1)]);
    unsubscribe();
    await bus.publish([state(2)]);
    expect(kept.versions()).toEqual([1, 2]);
    expect(dropped.map((s) => s.version)).toEqual([1]);
  });

  it('closes its connections and timers', async () => {
    const before = resourceCounts();
    const bus = await start('a');
    await bus.publish([state(1)]);
    await bus.close();
    if (engine.shared) expect(bus.subscribed).toBe(false);
    await waitFor(
      () => [...resourceCounts()].every(([kind, n]) => n <= (before.get(kind) ?? 0)),
      'every socket and timer of the bus to be gone',
    );
  });

  if (!engine.shared) return;

  it('rejects a publish once closed', async () => {
    const bus = await start('a');
    await bus.close();
    await expect(bus.publish([state(1)])).rejects.toBeInstanceOf(BusClosedError);
  });

  describe('two nodes sharing it', () => {
    it("delivers A's transitions to B exactly once and in order, and no echo to A", async () => {
      const nodeA = await start('a');
      const nodeB = await start('b');
      const a = record(nodeA);
      const b = record(nodeB);

      // Several publishes in flight at once: order must survive that.
      const all = versions(1, 200);
      await Promise.all(
        Array.from({ length: 8 }, (_, i) => nodeA.publish(all.slice(i * 25, i * 25 + 25))),
      );
      await waitFor(() => b.heard.length >= 200, 'B to hear 200 transitions');

      // B answers; A hears the answer only after the echoes of its own messages, if any.
      await nodeB.publish([state(1000)]);
      await waitFor(() => a.heard.length >= 201, "A to hear B's answer");
      // ...and A publishes a marker after that, so B has had every chance to hear a duplicate.
      await nodeA.publish([state(1001)]);
      await waitFor(() => b.heard.length >= 202, 'B to hear the marker');

      expect(b.versions()).toEqual([...all.map((s) => s.version), 1000, 1001]);
      expect(a.versions()).toEqual([...all.map((s) => s.version), 1000, 1001]);
    });

    it('splits a large batch into several messages and delivers every state intact', async () => {
      const nodeA = await start('a');
      const nodeB = await start('b');
      const b = record(nodeB);
      const batch = Array.from({ length: 300 }, (_, i) =>
        state(i + 1, {
          transactionId: randomUUID(),
          status: 'settled',
          suiTxDigest: `Digest${i}x`.padEnd(44, 'Q'),
          settledAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
          late: i % 7 === 0,
        }),
      );
      const messages = encodeMessages(nodeA.nodeId, batch).length;
      expect(messages).toBeGreaterThan(2);

      await nodeA.publish(batch);
      await waitFor(() => b.heard.length >= 300, 'B to hear all 300');
      expect(b.heard).toEqual(batch);
      expect(b.deliveries).toBe(messages);
    });

    it('carries the messages of a node whose id holds quotes and a line break', async () => {
      const nodeA = await start('a "quoted"\nnode');
      const nodeB = await start('b');
      const a = record(nodeA);
      const b = record(nodeB);
      const batch = versions(1, 300);
      expect(encodeMessages(nodeA.nodeId, batch).length).toBeGreaterThan(1);

      await nodeA.publish(batch);
      await waitFor(() => b.heard.length >= 300, 'B to hear all 300');
      await nodeB.publish([state(1000)]);
      await waitFor(() => a.heard.length >= 301, "A to hear B's answer, after any echo");
      expect(b.versions()).toEqual([...batch.map((s) => s.version), 1000]);
      expect(a.versions()).toEqual([...batch.map((s) => s.version), 1000]);
    });

    it('ignores malformed messages and keeps delivering good ones', async () => {
      const { logger, records } = capturingLogger();
      const nodeA = await start('a');
      const nodeB = await start('b', { logger });
      const b = record(nodeB);
      const garbage = [
        'not json',
        '',
        'null',
        '[1,2]',
        '{"o":"x"}',
        '{"o":"x","s":[null]}',
        '{"o":"x","s":[{"t":"t1","s":"bogus","v":1}]}',
      ];
      for (const payload of garbage) await engine.sendRaw(payload);
      await nodeA.publish([state(1)]);
      await waitFor(() => b.heard.length >= 1, 'B to hear the good message');

      expect(b.versions()).toEqual([1]);
      const dropped = records.filter((r) => r.msg === 'dropped a malformed bus message');
      expect(dropped).toHaveLength(garbage.length);
      expect(nodeB.subscribed).toBe(true);
    });

    it('keeps delivering when a listener throws', async () => {
      const nodeA = await start('a');
      const nodeB = await start('b');
      for (const bus of [nodeA, nodeB]) {
        bus.subscribe(() => {
          throw new Error('listener bug');
        });
      }
      const a = record(nodeA);
      const b = record(nodeB);
      await nodeA.publish([state(1)]);
      await waitFor(() => b.heard.length >= 1, 'B to hear it');
      await nodeA.publish([state(2)]);
      await waitFor(() => b.heard.length >= 2, 'B to hear the next one');
      expect(a.versions()).toEqual([1, 2]);
      expect(b.versions()).toEqual([1, 2]);
    });

    it('re-subscribes after the server cuts the subscription, and hears what follows', async () => {
      const nodeA = await start('a');
      const nodeB = await start('b');
      const b = record(nodeB);
      const resubscribed = nextResubscription(nodeB, 2 * MAX_RECONNECT_DELAY_MS + 1_000);

      expect(await engine.cutSubscription(nodeB.nodeId)).toBe(1);
      await resubscribed;
      expect(nodeB.subscribed).toBe(true);

      await nodeA.publish([state(1)]);
      await waitFor(() => b.heard.length >= 1, 'B to hear what A published after the cut');
      expect(b.versions()).toEqual([1]);
    });

    it('rejects publishes while the engine is down and recovers within the backoff cap', async () => {
      const proxy = await startProxy(engine.url());
      const { logger, records } = capturingLogger();
      const nodeA = await start('a');
      const nodeB = await start('b', { url: proxy.url(), logger });
      const a = record(nodeA);
      const b = record(nodeB);
      const resubscribed = nextResubscription(nodeB, 15_000);

      await proxy.stop();
      await waitFor(() => !nodeB.subscribed, 'B to notice the outage');
      let during: Promise<void> = Promise.resolve();
      expect(() => {
        during = nodeB.publish([state(1)]);
      }).not.toThrow();
      await expect(during).rejects.toThrow();
      expect(b.versions()).toEqual([1]); // delivered locally all the same
      await nodeA.publish([state(2)]); // lost for B: that is what onResubscribed is for

      // The outage lasts until B's backoff has reached its cap.
      await waitFor(
        () => records.some((r) => r.delayMs === MAX_RECONNECT_DELAY_MS),
        'the reconnect delay to reach its cap',
        15_000,
      );
      await proxy.start();
      const restoredAt = Date.now();
      await resubscribed;
      expect(Date.now() - restoredAt).toBeLessThan(MAX_RECONNECT_DELAY_MS + 1_000);
      expect(nodeB.subscribed).toBe(true);

      await nodeA.publish([state(3)]);
      await waitFor(() => b.heard.length >= 2, 'B to hear A again');
      await nodeB.publish([state(4)]);
      await waitFor(() => a.heard.length >= 3, "A to hear B's publisher again");
      expect(b.versions()).toEqual([1, 3, 4]);
      expect(a.versions()).toEqual([2, 3, 4]);
      await proxy.stop();
    }, 30_000);
  });
}

describe.each(engines.map((engine) => [engine.name, engine] as const))(
  'the bus on %s',
  (_name, engine) => {
    // Unreachable engines skip here with the reason printed by their helper (and fail in CI).
    describe.skipIf(!engine.available)('when reachable', () => busSuite(engine));
  },
);

describe.skipIf(!pg.available)('the Postgres bus with an injected publish client', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await pg.createDatabase();
  });
  afterAll(() => database?.drop());

  it('keeps publication order over a pool and leaves the client open on close', async () => {
    const logger = pino({ level: 'silent' });
    const pool = postgres(database.url, { max: 4, onnotice: () => {} });
    const nodeA = await createPostgresBus({
      url: database.url,
      nodeId: 'a',
      logger,
      publishClient: pool,
    });
    const nodeB = await createPostgresBus({ url: database.url, nodeId: 'b', logger });
    try {
      const b = record(nodeB);
      const all = versions(1, 100);
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => nodeA.publish(all.slice(i * 5, i * 5 + 5))),
      );
      await waitFor(() => b.heard.length >= 100, 'B to hear 100 transitions');
      expect(b.versions()).toEqual(all.map((s) => s.version));

      await nodeA.close();
      expect(await pool`select 1 as one`).toEqual([{ one: 1 }]);
    } finally {
      await Promise.all([nodeA.close(), nodeB.close()]);
      await pool.end({ timeout: 1 });
    }
  });
});

describe('createBus', () => {
  it('refuses an engine bus without its URL', async () => {
    const logger = pino({ level: 'silent' });
    await expect(createBus({ busKind: 'postgres' }, { nodeId: 'a', logger })).rejects.toThrow(
      /DATABASE_URL/,
    );
    await expect(createBus({ busKind: 'redis' }, { nodeId: 'a', logger })).rejects.toThrow(
      /REDIS_URL/,
    );
  });

  it('fails fast when the engine is unreachable at start', async () => {
    const logger = pino({ level: 'silent' });
    const closedPort = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    await expect(
      createBus(
        { busKind: 'postgres', databaseUrl: `postgres://postgres@127.0.0.1:${closedPort}/x` },
        { nodeId: 'a', logger },
      ),
    ).rejects.toThrow(/could not LISTEN/);
    await expect(
      createBus(
        { busKind: 'redis', redisUrl: `redis://127.0.0.1:${closedPort}` },
        { nodeId: 'a', logger },
      ),
    ).rejects.toThrow(/could not subscribe/);
  });
});
