/**
 * The soak's steady load: purchases (a proposal, two SDK watchers, a sandbox payment), each
 * request through a live node, and churning sockets (connect, first status, disconnect). The
 * watchers route every (re)connect to a live node, like a load balancer would, and record what
 * came over the wire on each connection.
 */
import WebSocket from 'ws';
import { watchTransaction, type FinalEvent, type WebSocketConstructor } from '../src/sdk/index.js';
import type { SoakNode } from './soak-cluster.js';

const API = '/api/identipay/v1';
/** What the SDK is given as its base URL; each connect replaces it with a live node's. */
const CLUSTER = 'ws://soak.cluster';
const WATCHERS_PER_PURCHASE = 2;
const MAX_PURCHASES_IN_FLIGHT = 120;
/** Buyers take a while to pay (the watchers wait meanwhile); every tenth one much longer. */
const payDelayMs = (index: number) =>
  index % 10 === 9 ? 15_000 + Math.random() * 15_000 : 500 + Math.random() * 5_500;
const MAX_CHURN_IN_FLIGHT = 60;
const RECENT_TRANSACTIONS = 100;

export interface WireConnection {
  node: string;
  since: number | undefined;
  versions: number[];
}

export interface Watcher {
  txId: string;
  connections: WireConnection[];
  /** When a settled status first reached the SDK (epoch ms). */
  settledSeenAt: number | undefined;
  final: FinalEvent | undefined;
  controller: AbortController;
  done: Promise<FinalEvent>;
}

export interface Purchase {
  txId: string;
  paid: boolean;
  /** The chain digest the payment answered with; unknown when only a retry's 409 said it is paid. */
  digest: string | undefined;
  watchers: Watcher[];
}

export class Load {
  readonly purchases: Purchase[] = [];
  /** WebSocket connections opened, by node name. */
  readonly socketsByNode = new Map<string, number>();
  readonly stats = {
    purchasesStarted: 0,
    purchasesSkipped: 0,
    purchasesFailed: 0,
    requestRetries: 0,
    churnOpened: 0,
    churnFirstMessage: 0,
    churnFailed: 0,
    watcherConnections: 0,
  };
  private readonly inFlight = new Set<Promise<void>>();
  private readonly churnDone = new Set<Promise<void>>();
  private timers: NodeJS.Timeout[] = [];
  private next = 0;
  /** Payments are made by then at the latest (epoch ms), so that a drain is short. */
  private payBy = 0;

  constructor(
    private readonly nodes: readonly SoakNode[],
    readonly key: string,
  ) {}

  /**
   * Starts `purchasesPerSecond` purchases and `churnPerSecond` churning sockets a second, until
   * `pause`; buyers pay by `payBy` (epoch ms) at the latest.
   */
  start(purchasesPerSecond: number, churnPerSecond: number, payBy: number): void {
    this.payBy = payBy;
    this.timers.push(
      setInterval(() => this.purchase(), 1000 / purchasesPerSecond),
      setInterval(() => this.churn(), 1000 / churnPerSecond),
    );
  }

  /** Stops starting new work; what is in flight carries on. */
  pause(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
  }

  /** Resolves when every purchase and churning socket started so far has finished. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0 || this.churnDone.size > 0) {
      await Promise.all([...this.inFlight, ...this.churnDone]);
    }
    await Promise.all(this.purchases.flatMap((p) => p.watchers.map((watcher) => watcher.done)));
  }

  /** Stops every watcher still running (after a failed drain). */
  abortAll(): void {
    for (const purchase of this.purchases) {
      for (const watcher of purchase.watchers) watcher.controller.abort();
    }
  }

  /** A live node, round robin. */
  pick(): SoakNode {
    const up = this.nodes.filter((node) => node.up);
    const node = up[this.next++ % Math.max(1, up.length)];
    if (!node) throw new Error('no node is up');
    return node;
  }

  private countSocket(node: SoakNode): void {
    this.socketsByNode.set(node.name, (this.socketsByNode.get(node.name) ?? 0) + 1);
  }

  private track(set: Set<Promise<void>>, work: Promise<void>): void {
    set.add(work);
    void work.finally(() => set.delete(work));
  }

  private purchase(): void {
    if (this.inFlight.size >= MAX_PURCHASES_IN_FLIGHT) {
      this.stats.purchasesSkipped++;
      return;
    }
    const index = this.stats.purchasesStarted++;
    this.track(
      this.inFlight,
      this.runPurchase(Math.min(payDelayMs(index), Math.max(500, this.payBy - Date.now()))).catch(
        (error: unknown) => {
          this.stats.purchasesFailed++;
          console.error(`[soak] purchase failed: ${(error as Error).message}`);
        },
      ),
    );
  }

  private async runPurchase(payAfterMs: number): Promise<void> {
    const created = await retrying(this, 'POST', `${API}/proposals`, {
      items: [{ name: 'Soak espresso', quantity: 1, unitPrice: '2.50' }],
      amount: { value: '2.50', currency: 'USDC' },
      deliverables: { receipt: true },
      expiresInSeconds: 3600,
    });
    const txId = created.body.transactionId as string;
    const purchase: Purchase = { txId, paid: false, digest: undefined, watchers: [] };
    this.purchases.push(purchase);
    const firsts: Promise<void>[] = [];
    for (let index = 0; index < WATCHERS_PER_PURCHASE; index++) {
      const { watcher, first } = this.watch(txId);
      purchase.watchers.push(watcher);
      firsts.push(first);
    }
    // Watching before paying; a node killed meanwhile only delays it (the SDK reconnects).
    await Promise.race([Promise.all(firsts), delay(15_000)]);
    await delay(payAfterMs);
    const paid = await retrying(
      this,
      'POST',
      `/sandbox/transactions/${txId}/pay`,
      undefined,
      [409],
    ).catch((error: unknown) => {
      for (const watcher of purchase.watchers) watcher.controller.abort(); // nothing will come
      throw error;
    });
    purchase.paid = true;
    // 409: an earlier attempt reached the chain but its answer was lost (its node was killed).
    purchase.digest = paid.status === 202 ? (paid.body.txDigest as string) : undefined;
  }

  private watch(txId: string): { watcher: Watcher; first: Promise<void> } {
    const controller = new AbortController();
    let gotFirst: () => void = () => {};
    const first = new Promise<void>((resolve) => (gotFirst = resolve));
    const seen: Omit<Watcher, 'done'> = {
      txId,
      connections: [],
      settledSeenAt: undefined,
      final: undefined,
      controller,
    };
    const handle = watchTransaction(txId, {
      baseUrl: CLUSTER.replace(/^ws/, 'http'),
      WebSocket: this.routedSocket(seen.connections),
      signal: controller.signal,
      backoff: { baseMs: 200, capMs: 5_000 },
      onStatus: ({ message }) => {
        gotFirst();
        if (message.status === 'settled') seen.settledSeenAt ??= Date.now();
      },
      onSettlement: () => {
        gotFirst();
        seen.settledSeenAt ??= Date.now();
      },
      onFinal: (event) => {
        gotFirst();
        seen.final = event;
      },
    });
    return { watcher: Object.assign(seen, { done: handle.done }), first };
  }

  /** The SDK's WebSocket: connects to a live node and records the versions each connection got. */
  private routedSocket(connections: WireConnection[]): WebSocketConstructor {
    const pick = () => this.pick();
    const counted = (node: SoakNode) => {
      this.stats.watcherConnections++;
      this.countSocket(node);
    };
    return class RoutedSocket extends WebSocket {
      constructor(url: string) {
        const node = pick();
        super(url.replace(CLUSTER, node.wsBase));
        counted(node);
        const since = /[?&]since=(\d+)/.exec(url)?.[1];
        const connection: WireConnection = {
          node: node.name,
          since: since === undefined ? undefined : Number(since),
          versions: [],
        };
        connections.push(connection);
        this.on('message', (data) => {
          const { version } = JSON.parse(data.toString()) as { version?: unknown };
          if (typeof version === 'number') connection.versions.push(version);
        });
      }
    };
  }

  private churn(): void {
    const recent = this.purchases.slice(-RECENT_TRANSACTIONS);
    const target = recent[Math.floor(Math.random() * recent.length)];
    if (!target || this.churnDone.size >= MAX_CHURN_IN_FLIGHT) return;
    this.track(this.churnDone, this.churnOnce(target.txId));
  }

  /** Connects, waits for the first message, disconnects; a failed connect is counted. */
  private churnOnce(txId: string): Promise<void> {
    return new Promise((resolve) => {
      let node: SoakNode;
      try {
        node = this.pick();
      } catch {
        this.stats.churnFailed++;
        resolve();
        return;
      }
      this.stats.churnOpened++;
      this.countSocket(node);
      const socket = new WebSocket(`${node.wsBase}/ws/transactions/${txId}`);
      let received = false;
      const timer = setTimeout(() => socket.terminate(), 10_000);
      socket.on('error', () => {});
      socket.once('message', () => {
        received = true;
        this.stats.churnFirstMessage++;
        socket.close(1000);
      });
      socket.once('close', () => {
        clearTimeout(timer);
        if (!received) this.stats.churnFailed++;
        resolve();
      });
    });
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A JSON request through a live node; a refused or reset connection or a 5xx is retried on the
 * next node (nodes get killed); answers other than 2xx and `accept` fail.
 */
async function retrying(
  load: Load,
  method: string,
  route: string,
  body?: unknown,
  accept: number[] = [],
): Promise<{ status: number; body: Record<string, unknown> }> {
  let lastProblem = '';
  for (let attempt = 0; attempt < 20; attempt++) {
    if (attempt > 0) {
      load.stats.requestRetries++;
      await delay(250 * Math.min(attempt, 4));
    }
    try {
      const response = await fetch(`${load.pick().url}${route}`, {
        method,
        headers: {
          authorization: `Bearer ${load.key}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(15_000),
      });
      const text = await response.text();
      if (response.ok || accept.includes(response.status)) {
        return { status: response.status, body: text ? JSON.parse(text) : {} };
      }
      lastProblem = `${response.status} ${text.slice(0, 200)}`;
      if (response.status < 500) break;
    } catch (error) {
      lastProblem = (error as Error).message;
    }
  }
  throw new Error(`${method} ${route}: ${lastProblem}`);
}
