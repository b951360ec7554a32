/**
 * Issue 7, item 2: WORKERS=n runs n node:cluster workers on one port, each a full node on the
 * Postgres bus. The built service in sandbox mode with two workers on a per-run database: sockets
 * spread over both workers all get the settlement; a worker killed with SIGKILL is restarted and
 * the service goes on; SIGTERM to the primary closes every socket with 1001 and exits 0. Bad
 * WORKERS settings stop start-up with exit code 2.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, PROJECT_ROOT } from '../src/config/index.js';
import { request } from './support/cluster.js';
import { API } from './support/http.js';
import { postgresForTests, type TestDatabase } from './support/postgres.js';
import { ensureBuilt, spawnService, type ServiceProcess } from './support/process.js';
import { waitFor } from './support/wait.js';
import { TestSocket, withTimeout, type Closed } from './support/ws-client.js';

const pg = await postgresForTests();

const DB = 'postgres://postgres@127.0.0.1:5432/any';
const SHUTDOWN_TIMEOUT_MS = 10_000;

describe('WORKERS configuration', () => {
  const workers = (env: Record<string, string>) => loadConfig(env).workers;
  const problem = (env: Record<string, string>) => {
    try {
      loadConfig(env);
    } catch (error) {
      if (error instanceof ConfigError) return error.message;
      throw error;
    }
    throw new Error('expected a ConfigError');
  };

  it('is one process when unset, empty or 1', () => {
    expect(workers({})).toBe(1);
    expect(workers({ WORKERS: '' })).toBe(1);
    expect(workers({ WORKERS: '1' })).toBe(1);
  });

  it('takes a count, or one worker per core for auto, with a Postgres database', () => {
    expect(workers({ WORKERS: '3', DATABASE_URL: DB })).toBe(3);
    expect(workers({ WORKERS: ' 2 ', DATABASE_URL: DB })).toBe(2);
    expect(workers({ WORKERS: 'auto', DATABASE_URL: DB })).toBe(availableParallelism());
  });

  it('refuses what is not a count from 1 to 64', () => {
    expect(problem({ WORKERS: 'bogus', DATABASE_URL: DB })).toMatch(
      /WORKERS: must be a whole number or auto/,
    );
    expect(problem({ WORKERS: '2.5', DATABASE_URL: DB })).toMatch(/WORKERS: must be a whole/);
    expect(problem({ WORKERS: '0', DATABASE_URL: DB })).toMatch(/WORKERS: must be at least 1/);
    expect(problem({ WORKERS: '65', DATABASE_URL: DB })).toMatch(/WORKERS: must be at most 64/);
  });

  it('refuses several workers without DATABASE_URL or with the in-process bus', () => {
    expect(problem({ WORKERS: '2' })).toMatch(/WORKERS: .*need DATABASE_URL \(PostgreSQL\)/);
    expect(problem({ WORKERS: '2', DATABASE_URL: DB, BUS: 'local' })).toMatch(
      /WORKERS: .*shared bus/,
    );
  });
});

/** Runs `node dist/main.js` expecting it to stop at once; resolves with its code and output. */
function runToExit(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist', 'main.js')], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH ?? '', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; output: string }>((resolve) =>
    child.once('close', (code) => resolve({ code, output })),
  );
  return withTimeout(exited, 20_000, 'the service to exit');
}

describe('start-up with bad WORKERS settings', () => {
  beforeAll(() => ensureBuilt());

  it('exits 2 naming DATABASE_URL when several workers are asked for without Postgres', async () => {
    const { code, output } = await runToExit({ WORKERS: '2' });
    expect(code).toBe(2);
    expect(output).toMatch(/WORKERS: several workers need DATABASE_URL \(PostgreSQL\)/);
    expect(output).not.toMatch(/listening on/);
  });

  it('exits 2 on WORKERS=bogus', async () => {
    const { code, output } = await runToExit({ WORKERS: 'bogus', DATABASE_URL: DB });
    expect(code).toBe(2);
    expect(output).toMatch(/WORKERS: must be a whole number or auto/);
  });
});

interface LogLine {
  msg?: string;
  component?: string;
  worker?: number;
  pid?: number;
  req?: { method: string; url: string };
}

function logLines(output: string): LogLine[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);
}

/** The primary's "worker ready" lines, in order: slot and pid of every worker it started. */
function readyWorkers(output: string): { worker: number; pid: number }[] {
  return logLines(output)
    .filter((line) => line.component === 'cluster' && line.msg === 'worker ready')
    .map((line) => ({ worker: line.worker ?? -1, pid: line.pid ?? -1 }));
}

/** Open sockets per worker slot, from the cluster-wide /metrics any worker serves. */
async function socketsPerWorker(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const counts = new Map<string, number>();
  for (const match of text.matchAll(/^identipay_ws_open_sockets\{worker="(\d+)"\} (\d+)$/gm))
    counts.set(match[1] ?? '', Number(match[2]));
  return counts;
}

async function clusterMetric(url: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

/** A POST on a connection of its own (no keep-alive): node:cluster hands each to a worker. */
function postOnNewConnection(
  url: string,
  route: string,
  token: string,
  body: unknown,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      `${url}${route}`,
      {
        method: 'POST',
        agent: false,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      },
      (response) => {
        response.resume();
        response.once('end', () => resolve(response.statusCode ?? 0));
      },
    );
    outgoing.once('error', reject);
    outgoing.end(JSON.stringify(body));
  });
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!pg.available)('two workers on Postgres in sandbox mode', () => {
  const sockets: TestSocket[] = [];
  const dataDir = mkdtempSync(path.join(tmpdir(), 'ips-workers-'));
  let database: TestDatabase | undefined;
  let service: ServiceProcess | undefined;

  const running = () => {
    if (!service) throw new Error('the service did not start');
    return service;
  };

  const createTx = async () => {
    const answer = await request(running().url, 'POST', `${API}/proposals`, {
      key: running().apiKey,
      body: {
        items: [{ name: 'Espresso', quantity: 1, unitPrice: '2.50' }],
        amount: { value: '2.50', currency: 'USDC' },
        deliverables: { receipt: true },
      },
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    return answer.body.transactionId as string;
  };

  /** `perTx` sockets on each of `txCount` new transactions, each one's first message received. */
  const watchNew = async (txCount: number, perTx: number) => {
    const txIds = await Promise.all(Array.from({ length: txCount }, createTx));
    const watching = txIds.map((txId) => ({
      txId,
      sockets: Array.from({ length: perTx }, () => {
        const socket = TestSocket.connect(
          `${running().url.replace(/^http/, 'ws')}/ws/transactions/${txId}`,
        );
        sockets.push(socket);
        return socket;
      }),
    }));
    for (const socket of watching.flatMap((tx) => tx.sockets))
      expect(await socket.next()).toMatchObject({ type: 'status', status: 'pending' });
    return watching;
  };

  /** Every worker slot holds at least one of the open sockets. */
  const expectBothWorkersHoldSockets = async () => {
    const counts = await socketsPerWorker(running().url);
    expect([...counts.keys()].sort()).toEqual(['0', '1']);
    for (const [worker, count] of counts) expect(count, `worker ${worker}`).toBeGreaterThan(0);
  };

  const payAndExpectSettlement = async (watching: Awaited<ReturnType<typeof watchNew>>) => {
    for (const { txId } of watching) {
      const paid = await request(running().url, 'POST', `/sandbox/transactions/${txId}/pay`);
      expect(paid.status, JSON.stringify(paid.body)).toBe(202);
    }
    for (const socket of watching.flatMap((tx) => tx.sockets)) {
      const { messages, close } = await socket.finished(20_000);
      expect(messages.at(-1)).toMatchObject({ type: 'settlement', status: 'settled' });
      expect(close.code).toBe(1000);
    }
  };

  beforeAll(async () => {
    ensureBuilt();
    database = await pg.createDatabase();
    service = await spawnService(
      {
        WORKERS: '2',
        DATABASE_URL: database.url,
        DATA_DIR: dataDir,
        CHAIN_POLL_MS: '50',
        SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
        // `info`: the primary's "worker ready" lines name each worker's pid.
        LOG_LEVEL: 'info',
      },
      60_000,
    );
  });

  afterAll(async () => {
    for (const socket of sockets) socket.ws.terminate();
    if (service) {
      const pids = readyWorkers(service.output()).map((ready) => ready.pid);
      if (service.child.exitCode === null && service.child.signalCode === null)
        service.child.kill('SIGKILL');
      await service.exited;
      // Workers cut off from a killed primary stop by themselves; these are only the leftovers.
      for (const pid of pids) if (isRunning(pid)) process.kill(pid, 'SIGKILL');
    }
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('prints one banner, with the port both workers listen on', async () => {
    // Log lines and the banner go through different streams: the logs may trail the banner.
    const listening = () =>
      logLines(running().output())
        .filter((line) => line.msg === 'listening')
        .map((line) => [line.worker, (line as { port?: number }).port])
        .sort();
    await waitFor(
      () => readyWorkers(running().output()).length === 2 && listening().length === 2,
      'both workers to log that they listen',
    );
    const output = running().output();
    expect(output.match(/listening on http:\/\//g)).toHaveLength(1);
    expect(output).toMatch(/workers: 2 \(node:cluster, one port\)/);
    expect(readyWorkers(output).map((ready) => ready.worker)).toEqual(
      expect.arrayContaining([0, 1]),
    );
    const port = Number(new URL(running().url).port);
    expect(listening()).toEqual([
      [0, port],
      [1, port],
    ]);
  });

  it('accepts the printed admin token on every worker', async () => {
    const admin = /admin token \(this run only\): (\S+)/.exec(running().output())?.[1] ?? '';
    let registered = 0;
    const servedBy = () =>
      new Set(
        logLines(running().output())
          .filter((line) => line.req?.url === `${API}/merchants`)
          .map((line) => line.worker),
      );
    await waitFor(
      async () => {
        const status = await postOnNewConnection(running().url, `${API}/merchants`, admin, {
          name: 'Worker Shop',
          suiAddress: `0x${(++registered).toString(16).padStart(64, '0')}`,
          hostname: `shop-${registered}.workers.example.com`,
          publicKey: 'ab'.repeat(32),
        });
        expect(status).toBe(201);
        return servedBy().size === 2;
      },
      'both workers to serve a registration',
      20_000,
    );
  });

  it('pushes the settlement to 40 sockets spread over both workers', async () => {
    const watching = await watchNew(4, 10);
    await expectBothWorkersHoldSockets();
    await payAndExpectSettlement(watching);
  }, 60_000);

  it('restarts a worker killed with SIGKILL, and new sockets on it settle', async () => {
    const before = readyWorkers(running().output());
    const victim = before.filter((ready) => ready.worker === 0).at(-1);
    if (!victim) throw new Error('no worker 0');
    const open = await watchNew(1, 10);
    await expectBothWorkersHoldSockets();
    process.kill(victim.pid, 'SIGKILL');

    await waitFor(
      () => readyWorkers(running().output()).length > before.length,
      'the primary to restart worker 0',
      30_000,
    );
    const restarted = readyWorkers(running().output()).at(-1);
    expect(restarted?.worker).toBe(0);
    expect(restarted?.pid).not.toBe(victim.pid);
    expect(await clusterMetric(running().url, 'identipay_cluster_worker_restarts_total')).toBe(1);
    expect(await clusterMetric(running().url, 'identipay_cluster_workers')).toBe(2);

    // Sockets on the killed worker were cut (1006); those on the other one still settle.
    const survivors = [];
    for (const socket of open[0]?.sockets ?? []) {
      if (socket.ws.readyState === socket.ws.OPEN) survivors.push(socket);
      else expect((await socket.closeEvent()).code).toBe(1006);
    }
    expect(survivors.length).toBeGreaterThan(0);
    const watching = await watchNew(2, 10);
    await expectBothWorkersHoldSockets();
    await payAndExpectSettlement([...watching, { txId: open[0]?.txId ?? '', sockets: survivors }]);
  }, 90_000);

  it('on SIGTERM to the primary closes every socket with 1001 and exits 0 with its workers', async () => {
    const watching = await watchNew(2, 10);
    await expectBothWorkersHoldSockets();
    const workers = readyWorkers(running().output()).slice(-2);

    running().child.kill('SIGTERM');
    const code = await withTimeout(
      running().exited,
      SHUTDOWN_TIMEOUT_MS + 5_000,
      'the primary to exit',
    );
    expect(code).toBe(0);
    for (const socket of watching.flatMap((tx) => tx.sockets))
      expect(await socket.closeEvent()).toEqual<Closed>({
        code: 1001,
        reason: 'Server shutting down',
      });
    // The primary waits for its workers: none is left behind.
    for (const { pid } of workers) expect(isRunning(pid), `worker pid ${pid}`).toBe(false);
  }, 60_000);
});
