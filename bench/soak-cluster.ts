/**
 * The soak's processes: its own redis-server when the bus is Redis (soak-bus.ts), one standalone
 * sandbox chain with fault injection on, and service nodes on fixed ports (a restarted node
 * comes back where its clients left it). Output goes to log files; processes are ended by PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import WebSocket from 'ws';
import { PROJECT_ROOT } from '../src/config/index.js';

export interface Proc {
  child: ChildProcess;
  exited: Promise<void>;
  /** Sends `signal` (SIGKILL by default) and resolves once the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

const live = new Set<Proc>();
let onCrash: (message: string) => void = () => {};

/** Kills every process the soak started and that still runs (by PID, never by name). */
export async function killAll(): Promise<void> {
  onCrash = () => {};
  await Promise.all([...live].map((proc) => proc.kill('SIGKILL')));
}

/**
 * Rejects when a started process exits without the soak having killed it (a node that
 * crashed): the run stops at once instead of timing out on a dead cluster.
 */
export function crashes(): Promise<never> {
  return new Promise((_, reject) => {
    onCrash = (message) => reject(new Error(message));
  });
}

/** Spawns `command`, logging to `logFile`, resolved with what `ready` finds in its output. */
export async function spawnLogged<T>(
  command: string,
  args: string[],
  env: Record<string, string>,
  logFile: string,
  ready: (output: string) => T | undefined,
  timeoutMs = 30_000,
): Promise<{ proc: Proc; info: T }> {
  const child = spawn(command, args, {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = createWriteStream(logFile, { flags: 'a' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let killed = false;
  const proc: Proc = {
    child,
    exited,
    async kill(signal = 'SIGKILL') {
      killed = true;
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
  live.add(proc);
  // The start-up output is kept, to find the ready line, and the last few KiB, to say why a
  // process died; all of it is logged.
  let head = '';
  let tail = '';
  void exited.then(() => {
    live.delete(proc);
    log.end();
    if (killed) return;
    const how = child.signalCode ?? `code ${child.exitCode}`;
    onCrash(
      `${path.basename(logFile, '.log')} exited by itself (${how}); see ${logFile}:\n${tail}`,
    );
  });
  let found: T | undefined;
  const info = new Promise<T>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      log.write(chunk);
      tail = (tail + chunk.toString()).slice(-3_000);
      if (found !== undefined) return;
      head += chunk.toString();
      found = ready(head);
      if (found !== undefined) resolve(found);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then(() => reject(new Error(`${command} exited during start-up; see ${logFile}`)));
    setTimeout(
      () => reject(new Error(`${command} did not start within ${timeoutMs} ms`)),
      timeoutMs,
    ).unref();
  });
  try {
    return { proc, info: await info };
  } catch (error) {
    await proc.kill();
    throw error;
  }
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A redis-server of the soak's own, in memory only, on `port` (never the machine's 6379). */
export function startRedis(port: number, logDir: string): Promise<Proc> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  return spawnLogged('redis-server', args, {}, path.join(logDir, 'redis.log'), (output) =>
    output.includes('Ready to accept connections') ? true : undefined,
  ).then(({ proc }) => proc);
}

export async function startChain(logDir: string): Promise<{ proc: Proc; url: string }> {
  const script = path.join(PROJECT_ROOT, 'dist/chain/sandbox/main.js');
  const env = { PORT: '0', SANDBOX_CHAIN_FAULTS: '1', LOG_LEVEL: 'warn' };
  const { proc, info } = await spawnLogged(
    process.execPath,
    [script],
    env,
    path.join(logDir, 'chain.log'),
    (output) => /sandbox chain listening on (http:\/\/\S+)/.exec(output)?.[1],
  );
  return { proc, url: info };
}

export interface SoakNode {
  name: string;
  port: number;
  url: string;
  wsBase: string;
  proc: Proc | undefined;
  /** The inspector of the current process: the soak forces a GC through it before measuring. */
  inspectorUrl: string;
  /** Started and ready: load goes to it. */
  up: boolean;
  /** Times this node was SIGKILLed and restarted. */
  restarts: number;
}

/**
 * Starts (or restarts) `node` on its port; the inspector is bound to localhost on any port. The
 * caller marks it `up` once it is ready.
 */
export async function startNode(
  node: SoakNode,
  env: Record<string, string>,
  logDir: string,
): Promise<void> {
  const { proc, info } = await spawnLogged(
    process.execPath,
    ['--inspect=127.0.0.1:0', path.join(PROJECT_ROOT, 'dist/main.js')],
    { ...env, PORT: String(node.port) },
    path.join(logDir, `${node.name}.log`),
    (output) => {
      const listening = /identipay-status listening on/.test(output);
      const inspector = /Debugger listening on (ws:\/\/\S+)/.exec(output)?.[1];
      return listening && inspector ? inspector : undefined;
    },
  );
  node.proc = proc;
  node.inspectorUrl = info;
}

export function newNode(name: string, port: number): SoakNode {
  const url = `http://127.0.0.1:${port}`;
  const wsBase = url.replace(/^http/, 'ws');
  return { name, port, url, wsBase, proc: undefined, inspectorUrl: '', up: false, restarts: 0 };
}

/** Unlabelled series of a node's /metrics, by name. */
export async function scrape(node: SoakNode): Promise<Map<string, number>> {
  const text = await (
    await fetch(`${node.url}/metrics`, { signal: AbortSignal.timeout(5_000) })
  ).text();
  const series = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+) (\S+)$/.exec(line);
    if (match?.[1] && match[2]) series.set(match[1], Number(match[2]));
  }
  return series;
}

export const HEAP_USED = 'identipay_process_nodejs_heap_size_used_bytes';
export const RSS = 'identipay_process_process_resident_memory_bytes';

/** Runs two full GCs in the node through its inspector (the second collects what finalizers freed). */
export async function forceGc(node: SoakNode): Promise<void> {
  const socket = new WebSocket(node.inspectorUrl);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  try {
    for (const id of [1, 2]) {
      const answered = new Promise<void>((resolve) => {
        const onMessage = (data: WebSocket.RawData) => {
          if ((JSON.parse(data.toString()) as { id?: number }).id !== id) return;
          socket.off('message', onMessage);
          resolve();
        };
        socket.on('message', onMessage);
      });
      socket.send(JSON.stringify({ id, method: 'HeapProfiler.collectGarbage' }));
      await answered;
    }
  } finally {
    socket.close();
  }
}

/** Polls `condition` until it holds; throws naming `what` after `timeoutMs`. */
export async function until(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs: number,
  intervalMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await condition()) return;
    } catch {
      // a node that is down or restarting: try again until the deadline
    }
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export async function isReady(node: SoakNode): Promise<boolean> {
  const response = await fetch(`${node.url}/ready`, { signal: AbortSignal.timeout(3_000) });
  await response.body?.cancel();
  return response.status === 200;
}

export async function isLeader(node: SoakNode): Promise<boolean> {
  return (await scrape(node)).get('identipay_indexer_leader') === 1;
}
