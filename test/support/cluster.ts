import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/config/index.js';
import { API } from './http.js';
import { withTimeout } from './ws-client.js';

/** A process this test started: killed by its PID, never by name. */
export interface Spawned {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
  /** Sends `signal` (SIGKILL by default) and resolves once the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Every process a suite starts, registered the moment it is spawned (before it is ready), so
 * that `killAll` in `afterAll` leaves nothing behind even when a start or a test failed.
 */
export class ProcessGroup {
  private readonly spawned = new Set<Spawned>();

  /** Runs `node dist/<script>` and resolves with what `ready` finds in its output. */
  async start<T>(
    script: string,
    env: Record<string, string>,
    ready: (output: string) => T | undefined,
    timeoutMs = 30_000,
  ): Promise<{ process: Spawned; info: T }> {
    const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist', script)], {
      cwd: PROJECT_ROOT,
      env: { PATH: process.env.PATH ?? '', PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    const exited = new Promise<number | null>((resolve) => {
      if (child.exitCode !== null) resolve(child.exitCode);
      child.once('exit', (code) => resolve(code));
    });
    const spawned: Spawned = {
      child,
      output: () => text,
      exited,
      async kill(signal = 'SIGKILL') {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        await exited;
      },
    };
    this.spawned.add(spawned);
    const info = new Promise<T>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        text += chunk.toString();
        const found = ready(text);
        if (found !== undefined) resolve(found);
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      void exited.then((code) => reject(new Error(`${script} exited with ${code}:\n${text}`)));
    });
    return { process: spawned, info: await withTimeout(info, timeoutMs, `${script} to start`) };
  }

  async killAll(): Promise<void> {
    await Promise.all([...this.spawned].map((spawned) => spawned.kill('SIGKILL')));
    this.spawned.clear();
  }
}

/** The standalone sandbox chain (`dist/chain/sandbox/main.js`), in memory. */
export async function startChainProcess(
  group: ProcessGroup,
  checkpointIntervalMs: number,
): Promise<{ process: Spawned; url: string }> {
  const { process: spawned, info } = await group.start(
    'chain/sandbox/main.js',
    { CHECKPOINT_INTERVAL_MS: String(checkpointIntervalMs), LOG_LEVEL: 'warn' },
    (output) => /sandbox chain listening on (http:\/\/\S+)/.exec(output)?.[1],
  );
  return { process: spawned, url: info };
}

export interface ServiceNode {
  name: string;
  process: Spawned;
  url: string;
  wsBase: string;
  /** The node id it uses on the bus (and in its bus connections' names). */
  nodeId: string;
  killed: boolean;
}

/** One service process (`dist/main.js`), ready once its banner and its node id are printed. */
export async function startServiceNode(
  group: ProcessGroup,
  name: string,
  env: Record<string, string>,
): Promise<ServiceNode> {
  // `info` level: the node id is only in the 'node ready' log line.
  const { process: spawned, info } = await group.start(
    'main.js',
    { LOG_LEVEL: 'info', ...env },
    (output) => {
      const url = /listening on (http:\/\/\S+)/.exec(output)?.[1];
      const nodeId = /"nodeId":"([^"]+)"/.exec(output)?.[1];
      return url && nodeId ? { url, nodeId } : undefined;
    },
  );
  return {
    name,
    process: spawned,
    url: info.url,
    wsBase: info.url.replace(/^http/, 'ws'),
    nodeId: info.nodeId,
    killed: false,
  };
}

/** A counter or gauge from a node's /metrics (unlabelled series only); undefined if absent. */
export async function metric(baseUrl: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

export interface ApiAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** A JSON request to a node's API. */
export async function request(
  baseUrl: string,
  method: string,
  route: string,
  options: { key?: string; body?: unknown } = {},
): Promise<ApiAnswer> {
  const headers: Record<string, string> = {};
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${baseUrl}${route}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

/** Registers a merchant through the admin route; returns its API key. */
export async function registerMerchantKey(baseUrl: string, adminToken: string): Promise<string> {
  const answer = await request(baseUrl, 'POST', `${API}/merchants`, {
    key: adminToken,
    body: {
      name: 'Multi-node Shop',
      suiAddress: `0x${randomBytes(32).toString('hex')}`,
      hostname: `shop-${randomBytes(6).toString('hex')}.example.com`,
      publicKey: randomBytes(32).toString('hex'),
    },
  });
  if (answer.status !== 201) throw new Error(`register failed: ${JSON.stringify(answer.body)}`);
  return answer.body.apiKey as string;
}

/** Creates a proposal; returns its transaction id. */
export async function createTransaction(
  baseUrl: string,
  key: string,
  expiresInSeconds: number,
): Promise<string> {
  const answer = await request(baseUrl, 'POST', `${API}/proposals`, {
    key,
    body: {
      items: [{ name: 'Espresso', quantity: 1, unitPrice: '2.50' }],
      amount: { value: '2.50', currency: 'USDC' },
      deliverables: { receipt: true },
      expiresInSeconds,
    },
  });
  if (answer.status !== 201) throw new Error(`create failed: ${JSON.stringify(answer.body)}`);
  return answer.body.transactionId as string;
}
