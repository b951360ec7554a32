/**
 * Issue 5, item 5: graceful shutdown. A real service process on a per-run Postgres database and
 * a standalone sandbox chain gets SIGTERM with sockets open, a REST request in flight and a
 * payment just made: every socket sees 1001 (or the payment's terminal status and 1000 if it
 * was pushed first), the request completes, the process exits 0 within SHUTDOWN_TIMEOUT_MS, and
 * a client resuming on the restarted service gets the payment.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessGroup, request, startChainProcess } from './support/cluster.js';
import { API } from './support/http.js';
import { createProposal, startTestNode, type TestNode } from './support/node.js';
import { postgresForTests, type TestDatabase } from './support/postgres.js';
import { ensureBuilt, spawnService, type ServiceProcess } from './support/process.js';
import { rawConnect, rawWebSocket } from './support/raw.js';
import { waitFor } from './support/wait.js';
import { TestSocket, upgradeStatus, withTimeout, type Closed } from './support/ws-client.js';

const pg = await postgresForTests();

const SHUTDOWN_TIMEOUT_MS = 10_000;
const ADMIN_TOKEN = 'shutdown-admin-token-0123456789';

const SAMPLE = {
  items: [{ name: 'Espresso', quantity: 1, unitPrice: '2.50' }],
  amount: { value: '2.50', currency: 'USDC' },
  deliverables: { receipt: true },
};

/** Creates a proposal on a service process; returns its transaction id. */
async function create(service: ServiceProcess): Promise<string> {
  const answer = await request(service.url, 'POST', `${API}/proposals`, {
    key: service.apiKey,
    body: SAMPLE,
  });
  if (answer.status !== 201) throw new Error(`create failed: ${JSON.stringify(answer.body)}`);
  return answer.body.transactionId as string;
}

function wsUrl(service: ServiceProcess, txId: string, since?: number): string {
  const base = service.url.replace(/^http/, 'ws');
  return `${base}/ws/transactions/${txId}${since === undefined ? '' : `?since=${since}`}`;
}

/**
 * Starts a proposal creation and resolves once the server has parsed its headers (it answered
 * `100 Continue`): the request is in flight. `finish` sends the body and resolves with the
 * status line and body of the answer.
 */
async function requestInFlight(service: ServiceProcess): Promise<{
  finish(): Promise<{ status: number; body: Record<string, unknown> }>;
}> {
  const { port } = new URL(service.url);
  const connection = await rawConnect(Number(port));
  const body = JSON.stringify(SAMPLE);
  connection.socket.write(
    `POST ${API}/proposals HTTP/1.1\r\nHost: localhost\r\n` +
      `Authorization: Bearer ${service.apiKey}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nExpect: 100-continue\r\n\r\n`,
  );
  await waitFor(
    () => connection.received().toString().startsWith('HTTP/1.1 100'),
    'the server to answer 100 Continue',
  );
  return {
    async finish() {
      connection.socket.write(body);
      const complete = () => {
        const text = connection.received().toString();
        const answer = text.slice(text.indexOf('\r\n\r\n') + 4);
        const head = answer.split('\r\n\r\n')[0] ?? '';
        const length = /content-length: (\d+)/i.exec(head)?.[1];
        return length !== undefined && answer.length >= head.length + 4 + Number(length);
      };
      await waitFor(complete, 'the answer to the in-flight request');
      const answer = connection.received().toString().split('\r\n\r\n').slice(1);
      connection.socket.destroy();
      return {
        status: Number(answer[0]?.split(' ')[1]),
        body: JSON.parse(answer[1] ?? '{}') as Record<string, unknown>,
      };
    },
  };
}

describe.skipIf(!pg.available)('graceful shutdown of a service process', () => {
  const group = new ProcessGroup();
  const services: ServiceProcess[] = [];
  const sockets: TestSocket[] = [];
  let database: TestDatabase | undefined;
  let env: Record<string, string> = {};

  const start = async () => {
    const service = await spawnService({ ...env, LOG_LEVEL: 'info' });
    services.push(service);
    return service;
  };

  beforeAll(async () => {
    ensureBuilt();
    database = await pg.createDatabase();
    const chain = await startChainProcess(group, 50);
    env = {
      DATABASE_URL: database.url,
      SANDBOX_CHAIN_URL: chain.url,
      CHAIN_POLL_MS: '50',
      ADMIN_TOKEN,
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
    };
  });

  afterAll(async () => {
    for (const socket of sockets) socket.ws.terminate();
    for (const service of services) {
      if (service.child.exitCode === null && service.child.signalCode === null)
        service.child.kill('SIGKILL');
      await service.exited;
    }
    await group.killAll();
    await database?.drop();
  });

  it('closes every socket with 1001, finishes the request in flight, exits 0 in time and loses no transition', async () => {
    const first = await start();
    const idle = [await create(first), await create(first)];
    const paid = await create(first);
    const watch = (txId: string) => {
      const socket = TestSocket.connect(wsUrl(first, txId));
      sockets.push(socket);
      return socket;
    };
    const idleSockets = idle.flatMap((txId) => [watch(txId), watch(txId)]);
    const paidSockets = [watch(paid), watch(paid)];
    for (const socket of [...idleSockets, ...paidSockets])
      expect(await socket.next()).toMatchObject({ status: 'pending', version: 1 });

    // A transition right before the signal: the payment may or may not be indexed before the
    // indexer stops; either way it must not be lost.
    expect((await request(first.url, 'POST', `/sandbox/transactions/${paid}/pay`)).status).toBe(
      202,
    );
    const inFlight = await requestInFlight(first);

    const signalledAt = Date.now();
    first.child.kill('SIGTERM');
    await waitFor(() => first.output().includes('shutting down'), 'the shutdown to begin');
    const answer = await inFlight.finish();
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);

    const code = await withTimeout(first.exited, SHUTDOWN_TIMEOUT_MS, 'the process to exit');
    expect(code).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(SHUTDOWN_TIMEOUT_MS);

    for (const socket of idleSockets) {
      expect(await socket.closeEvent()).toEqual<Closed>({
        code: 1001,
        reason: 'Server shutting down',
      });
    }
    for (const socket of paidSockets) {
      const { messages, close } = await socket.finished();
      if (close.code === 1000) expect(messages.at(-1)).toMatchObject({ status: 'settled' });
      else expect(close).toEqual<Closed>({ code: 1001, reason: 'Server shutting down' });
    }

    // Restarted on the same database: the payment is there for a client resuming from version 1,
    // and the proposal created during the shutdown was kept.
    const second = await start();
    const resumed = TestSocket.connect(wsUrl(second, paid, 1));
    sockets.push(resumed);
    const { messages, close } = await resumed.finished(20_000);
    expect(messages).toEqual([
      expect.objectContaining({ type: 'settlement', status: 'settled', version: 2 }),
    ]);
    expect(close.code).toBe(1000);
    const kept = await request(
      second.url,
      'GET',
      `${API}/transactions/${answer.body.transactionId as string}/status`,
      { key: second.apiKey },
    );
    expect(kept.status).toBe(200);
    expect(kept.body).toMatchObject({ status: 'pending' });

    second.child.kill('SIGTERM');
    expect(await withTimeout(second.exited, SHUTDOWN_TIMEOUT_MS, 'the restarted process')).toBe(0);
  });
});

describe('shutdown of an in-process node', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode();
  });
  afterAll(async () => {
    await node.stop();
  });

  it('refuses upgrades with 503 once the sockets are being closed', async () => {
    const txId = await createProposal(node);
    const socket = node.watch(txId);
    expect(await socket.next()).toMatchObject({ status: 'pending' });

    node.webSocket.close(1001, 'Server shutting down');
    expect(await socket.closeEvent()).toEqual({ code: 1001, reason: 'Server shutting down' });
    expect(await upgradeStatus(node.wsUrl(txId))).toBe(503);
  });
});

describe('shutdown with a peer that never answers the close frame', () => {
  it('terminates that socket and stops within the drain grace instead of the 30 s handshake', async () => {
    const node = await startTestNode();
    const txId = await createProposal(node);
    const mute = await rawWebSocket(node.port, `/ws/transactions/${txId}`);
    await waitFor(() => node.hub.openSockets === 1, 'the raw socket to be watched');

    const started = Date.now();
    await node.stop();
    await withTimeout(mute.closed, 5_000, 'the mute socket to be dropped');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(node.webSocket.counts().sockets).toBe(0);
  });
});
