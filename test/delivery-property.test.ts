/**
 * Issue 4, item 6: random interleavings of connects, disconnects, reconnects with `since`,
 * payments, cancels and expiries over two nodes sharing one Postgres (and its LISTEN/NOTIFY bus)
 * and one sandbox chain. Whatever the order, every client's sequence, across its reconnects, is
 * a gap-free, ordered, duplicate-free run of the transaction's history ending in its final state.
 *
 * Commands do not wait for their effects (a connect does not wait for its snapshot, a payment
 * is indexed later, some requests are not even answered before the next command), and the hubs'
 * reads may be slowed down, so that reads, notifications and resumes race as in production.
 */
import { setTimeout as delay } from 'node:timers/promises';
import fc from 'fast-check';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandboxChain, type SandboxChain } from '../src/chain/index.js';
import { createTransaction, registerMerchantKey, request } from './support/cluster.js';
import { deliveryProblems, readHistories, type HistoryRow } from './support/delivery.js';
import { API } from './support/http.js';
import { TEST_ADMIN_TOKEN, startTestNode, type TestNode } from './support/node.js';
import { postgresForTests, type TestDatabase } from './support/postgres.js';
import { propertySeed } from './support/property.js';
import { ResumableSocket } from './support/resumable-socket.js';
import { waitFor } from './support/wait.js';

const pg = await postgresForTests();

type Command =
  | { kind: 'connect'; tx: number; node: number }
  | { kind: 'reconnect'; socket: number; node: number }
  | { kind: 'disconnect'; socket: number }
  /** Waits until the socket has the version the store has now (or its connection ended). */
  | { kind: 'catch-up'; socket: number }
  /** `wait`: the next command waits for the answer; otherwise it races with it. */
  | { kind: 'pay'; tx: number; node: number; wait: boolean }
  | { kind: 'cancel'; tx: number; node: number; wait: boolean }
  | { kind: 'expire'; tx: number }
  | { kind: 'indexed' };

interface Scenario {
  /** `expiring`: created with expiresInSeconds 1, so it may expire in the middle of the run. */
  transactions: { expiring: boolean }[];
  /**
   * Fault injection: the hubs get the results of their snapshot and history reads this much
   * later, so that notifications committed meanwhile overtake them (rare otherwise).
   */
  slowReadsMs: number;
  commands: Command[];
}

const NODES = 2;
const node = fc.nat({ max: NODES - 1 });
const tx = fc.nat({ max: 1 });
// Few sockets, so that each sees several commands: they are picked modulo those open.
const socket = fc.nat({ max: 3 });
const wait = fc.boolean();
const scenarios: fc.Arbitrary<Scenario> = fc.record({
  transactions: fc.array(fc.record({ expiring: fc.boolean() }), { minLength: 1, maxLength: 2 }),
  slowReadsMs: fc.constantFrom(0, 20, 150),
  commands: fc.array(
    fc.oneof(
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('connect' as const), tx, node }) },
      {
        weight: 3,
        arbitrary: fc.record({ kind: fc.constant('reconnect' as const), socket, node }),
      },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('disconnect' as const), socket }) },
      { weight: 3, arbitrary: fc.record({ kind: fc.constant('catch-up' as const), socket }) },
      { weight: 3, arbitrary: fc.record({ kind: fc.constant('pay' as const), tx, node, wait }) },
      { weight: 3, arbitrary: fc.record({ kind: fc.constant('cancel' as const), tx, node, wait }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('expire' as const), tx }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('indexed' as const) }) },
    ),
    { minLength: 1, maxLength: 20 },
  ),
});

/**
 * Always run first: a client offline at v1 resumes with since=1 while a late settlement (v3)
 * lands during its history read. The first hub sent v3 and then dropped v2 as stale.
 */
const RESUME_OVERTAKEN: Scenario = {
  transactions: [{ expiring: false }],
  slowReadsMs: 150,
  commands: [
    { kind: 'connect', tx: 0, node: 0 },
    { kind: 'catch-up', socket: 0 },
    { kind: 'disconnect', socket: 0 },
    { kind: 'cancel', tx: 0, node: 1, wait: true },
    { kind: 'pay', tx: 0, node: 1, wait: false },
    { kind: 'reconnect', socket: 0, node: 0 },
  ],
};

/** What the test knows of a transaction from the answers it got (the model). */
interface ModelTx {
  id: string;
  expiring: boolean;
  /** A payment the chain accepted (202): the transaction ends settled. */
  paid: boolean;
  /** A cancel answered 200: unless paid, it ends cancelled. */
  cancelled: boolean;
  problems: string[];
}

describe.skipIf(!pg.available)('delivery across two nodes, property', () => {
  let database: TestDatabase | undefined;
  let chain: SandboxChain | undefined;
  const nodes: TestNode[] = [];
  let sql: postgres.Sql | undefined;
  let key = '';

  beforeAll(async () => {
    database = await pg.createDatabase();
    sql = postgres(database.url, { max: 1, onnotice: () => {} });
    chain = await startSandboxChain({ checkpointIntervalMs: 50 });
    const env = { SANDBOX_CHAIN_URL: chain.url, CHAIN_POLL_MS: '50', EXPIRY_SWEEP_MS: '100' };
    for (let n = 0; n < NODES; n++) {
      const started = await startTestNode(env, { kind: 'postgres', url: database.url });
      nodes.push(started);
      slowDownReads(started);
    }
    key = await registerMerchantKey(nodes[0]?.url ?? '', TEST_ADMIN_TOKEN);
  }, 60_000);

  let slowReadsMs = 0;
  /** The node's hub gets its snapshot and history reads `slowReadsMs` after they were made. */
  function slowDownReads(target: TestNode): void {
    const proposals = target.store.proposals;
    const { state, history } = proposals;
    proposals.state = async (transactionId) => {
      const result = await state.call(proposals, transactionId);
      if (slowReadsMs > 0) await delay(slowReadsMs);
      return result;
    };
    proposals.history = async (transactionId, afterVersion) => {
      const result = await history.call(proposals, transactionId, afterVersion);
      if (slowReadsMs > 0) await delay(slowReadsMs);
      return result;
    };
  }

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await sql?.end({ timeout: 1 });
    await chain?.stop();
    await database?.drop();
  }, 30_000);

  const at = (n: number): TestNode => {
    const found = nodes[n % nodes.length];
    if (!found) throw new Error('no node');
    return found;
  };
  const wsBase = (n: number) => at(n).url.replace(/^http/, 'ws');
  /** The transaction's state, read by the test itself (not slowed down). */
  const stateOf = async (model: ModelTx) => {
    if (!sql) throw new Error('no database connection');
    const [row] = await sql<{ status: string; version: number }[]>`
      select status, version from proposals where transaction_id = ${model.id}`;
    return row;
  };

  async function pay(model: ModelTx, via: number): Promise<void> {
    const answer = await request(at(via).url, 'POST', `/sandbox/transactions/${model.id}/pay`);
    if (answer.status === 202 && !model.paid) model.paid = true;
    else if (answer.status !== 409) model.problems.push(`pay answered ${answer.status}`);
  }

  async function cancel(model: ModelTx, via: number): Promise<void> {
    const route = `${API}/transactions/${model.id}/cancel`;
    const answer = await request(at(via).url, 'POST', route, { key });
    if (answer.status === 200 && !model.cancelled && answer.body.version === 2) {
      model.cancelled = true;
    } else if (answer.status !== 409) {
      model.problems.push(`cancel answered ${answer.status} ${JSON.stringify(answer.body)}`);
    }
  }

  /** Until the store says the transaction left `pending` (an expiry, or a settlement). */
  const leftPending = (model: ModelTx) =>
    waitFor(async () => (await stateOf(model))?.status !== 'pending', 'it to leave pending', 5000);

  /** One run's transactions, clients, and the requests still in flight. */
  interface Run {
    txs: ModelTx[];
    sockets: ResumableSocket[];
    inFlight: Promise<void>[];
  }

  async function execute(command: Command, { txs, sockets, inFlight }: Run): Promise<void> {
    const model = 'tx' in command ? txs[command.tx % txs.length] : undefined;
    const send = async (request: Promise<void>, wait: boolean) => {
      if (wait) await request;
      else inFlight.push(request);
    };
    switch (command.kind) {
      case 'connect': {
        if (!model) return;
        const socket = new ResumableSocket(model.id, `socket ${sockets.length}`);
        sockets.push(socket);
        socket.connect(wsBase(command.node));
        return;
      }
      case 'reconnect':
        sockets[command.socket % Math.max(1, sockets.length)]?.resume(wsBase(command.node));
        return;
      case 'disconnect':
        sockets[command.socket % Math.max(1, sockets.length)]?.disconnect();
        return;
      case 'catch-up': {
        const socket = sockets[command.socket % Math.max(1, sockets.length)];
        const watched = txs.find((candidate) => candidate.id === socket?.transactionId);
        if (!socket?.live || !watched) return;
        const version = (await stateOf(watched))?.version ?? 0;
        await socket.until(
          () => !socket.live || (socket.lastVersion ?? 0) >= version,
          `version ${version}`,
        );
        return;
      }
      case 'pay':
        return model && send(pay(model, command.node), command.wait);
      case 'cancel':
        return model && send(cancel(model, command.node), command.wait);
      case 'expire':
        if (model?.expiring) await leftPending(model);
        return;
      case 'indexed':
        for (const paid of txs.filter((candidate) => candidate.paid)) {
          await waitFor(
            async () => (await stateOf(paid))?.status === 'settled',
            'the payment to be indexed',
          );
        }
        return;
    }
  }

  /**
   * Brings every transaction to its final state (long-lived ones are cancelled, expiring ones
   * expire), then every socket to the end: an offline one, or one the server closed before the
   * final version (a late settlement came after), resumes with `since`, as a client would.
   */
  async function drain({ txs, sockets, inFlight }: Run): Promise<void> {
    await Promise.all(inFlight);
    for (const model of txs) {
      if (model.paid) continue;
      if (model.expiring) await leftPending(model);
      else await cancel(model, 1);
    }
    const finalVersions = new Map<string, number>();
    for (const model of txs) {
      await waitFor(async () => {
        const state = await stateOf(model);
        const done = model.paid ? state?.status === 'settled' : state?.status !== 'pending';
        if (done && state) finalVersions.set(model.id, state.version);
        return done;
      }, 'the final state');
    }
    await Promise.all(
      sockets.map(async (socket, index) => {
        const finalVersion = finalVersions.get(socket.transactionId) ?? 0;
        for (let attempt = 0; attempt < 3; attempt++) {
          // An offline client comes back from where it was.
          if (socket.current?.abandoned) socket.resume(wsBase(index));
          await socket.ended(5000);
          if ((socket.lastVersion ?? 0) >= finalVersion) return;
          socket.resume(wsBase(index));
        }
      }),
    );
  }

  function modelProblems(model: ModelTx, history: readonly HistoryRow[]): string[] {
    const statuses = history.map((row) => row.status);
    const final = history.at(-1);
    const expected = model.paid ? 'settled' : model.cancelled ? 'cancelled' : 'expired';
    const problems = [...model.problems];
    if (final?.status !== expected) {
      problems.push(`ends ${String(final?.status)}, the model says ${expected}`);
    }
    if (model.paid && final?.late !== statuses.length > 2) {
      problems.push(`late is ${String(final?.late)} after ${statuses.join(' → ')}`);
    }
    return problems.map((problem) => `tx ${model.id}: ${problem}`);
  }

  /** What the passing runs exercised, printed at the end: a property that tests nothing passes too. */
  const coverage = {
    sockets: 0,
    resumes: 0,
    messages: 0,
    settled: 0,
    late: 0,
    cancelled: 0,
    expired: 0,
  };

  async function run(scenario: Scenario): Promise<void> {
    const txs: ModelTx[] = await Promise.all(
      scenario.transactions.map(async ({ expiring }, index) => ({
        id: await createTransaction(at(index).url, key, expiring ? 1 : 600),
        expiring,
        paid: false,
        cancelled: false,
        problems: [],
      })),
    );
    const sockets: ResumableSocket[] = [];
    const run: Run = { txs, sockets, inFlight: [] };
    slowReadsMs = scenario.slowReadsMs;
    try {
      for (const command of scenario.commands) await execute(command, run);
      await drain(run);
      const histories = await readHistories(database?.url ?? '', [...txs.map((m) => m.id)]);
      const problems = [
        ...txs.flatMap((model) => modelProblems(model, histories.get(model.id) ?? [])),
        ...sockets.flatMap((socket) =>
          deliveryProblems(socket, histories.get(socket.transactionId) ?? []),
        ),
      ];
      if (problems.length > 0) throw new Error(problems.join('\n'));
      for (const socket of sockets) {
        coverage.sockets++;
        coverage.resumes += socket.connections.filter((c) => c.since !== undefined).length;
        coverage.messages += socket.messages.length;
      }
      for (const history of histories.values()) {
        const final = history.at(-1);
        if (final?.late) coverage.late++;
        if (history.some((row) => row.status === 'expired')) coverage.expired++;
        if (history.some((row) => row.status === 'cancelled')) coverage.cancelled++;
        if (final?.status === 'settled') coverage.settled++;
      }
    } finally {
      slowReadsMs = 0;
      await Promise.allSettled(run.inFlight);
      for (const socket of sockets) socket.terminate();
    }
  }

  it('gives every socket a gap-free, ordered, duplicate-free suffix of the history', async () => {
    const seed = propertySeed('delivery across two nodes');
    await fc.assert(fc.asyncProperty(scenarios, run), {
      seed,
      numRuns: 30,
      examples: [[RESUME_OVERTAKEN]],
      // Bounded: a failure still reports its (partly shrunk) counterexample in time.
      interruptAfterTimeLimit: 40_000,
    });
    console.log(`[fast-check] delivery across two nodes: ${JSON.stringify(coverage)}`);
    // Every socket the runs opened was closed, by the server or the client: no hub kept one.
    await waitFor(() => nodes.every((n) => n.hub.openSockets === 0), 'every socket forgotten');
    expect(nodes.map((n) => n.hub.watchedTransactions)).toEqual(nodes.map(() => 0));
  }, 60_000);
});
