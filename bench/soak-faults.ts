/**
 * The soak's faults, one at a time on a schedule spread over the run: the bus engine taken away
 * for a while (its redis-server killed and restarted, or every Postgres connection cut: see
 * soak-bus.ts), a node SIGKILLed and restarted on its port (the indexer leader in even rounds),
 * and the chain's GraphQL endpoint erroring or stalling (a long stall outlasts the nodes' 10 s
 * GraphQL request timeout). Each is timed until the cluster has recovered: every node ready
 * again, or the indexer back at the chain's tip.
 */
import { isLeader, isReady, scrape, startNode, until, type SoakNode } from './soak-cluster.js';
import type { SoakBus } from './soak-bus.js';
import { delay } from './soak-load.js';

export type FaultKind = 'bus engine outage' | 'node SIGKILL' | 'chain error' | 'chain stall';
export const FAULT_KINDS: FaultKind[] = [
  'node SIGKILL',
  'chain error',
  'bus engine outage',
  'chain stall',
];

export interface FaultRecord {
  kind: FaultKind;
  /** Seconds since the soak started. */
  at: number;
  detail: string;
  /** From the end of the fault to recovery (a node kill: from its restart to ready). */
  recoveredMs: number;
  /** A leader kill: from the SIGKILL until another node held the indexer role. */
  failoverMs?: number;
}

export interface FaultContext {
  nodes: SoakNode[];
  nodeEnv: Record<string, string>;
  logDir: string;
  bus: SoakBus;
  chainUrl: string;
  startedAt: number;
}

const DOWN_MS = 3_000;
const HEALTH_CHECK_MS = 1_000;
const RECOVERY_TIMEOUT_MS = 60_000;

export class FaultInjector {
  readonly records: FaultRecord[] = [];
  private kills = 0;
  private stalls = 0;

  constructor(private readonly ctx: FaultContext) {}

  async inject(kind: FaultKind): Promise<void> {
    const at = (Date.now() - this.ctx.startedAt) / 1000;
    const { detail, faultEnded, failoverMs } = await this.run(kind);
    const recoveredMs = Date.now() - faultEnded;
    this.records.push({ kind, at, detail, recoveredMs, failoverMs });
    console.log(`[soak] t=${at.toFixed(0)}s ${kind}: ${detail}; recovered in ${recoveredMs} ms`);
  }

  private async run(
    kind: FaultKind,
  ): Promise<{ detail: string; faultEnded: number; failoverMs?: number }> {
    if (kind === 'bus engine outage') return this.interruptBus();
    if (kind === 'node SIGKILL') return this.killNode();
    return this.chainFault(kind === 'chain error' ? 'error' : 'stall');
  }

  private async interruptBus(): Promise<{ detail: string; faultEnded: number }> {
    const detail = await this.ctx.bus.interrupt(DOWN_MS);
    const faultEnded = Date.now();
    await this.allReady('every node ready (bus re-subscribed) after the bus engine outage');
    return { detail, faultEnded };
  }

  /**
   * Even kills take the indexer leader, odd ones a node that is not (one killed before, by
   * preference), always keeping one node never killed: its memory is checked against its
   * baseline. Clients are still routed to the dead node for a moment, as behind a load balancer
   * whose health check has not noticed yet.
   */
  private async killNode(): Promise<{ detail: string; faultEnded: number; failoverMs?: number }> {
    const up = this.upNodes();
    const neverKilled = up.filter((node) => node.restarts === 0).length;
    const killable = up
      .filter((node) => node.restarts > 0 || neverKilled > 1)
      .sort((a, b) => b.restarts - a.restarts);
    const leaders = await Promise.all(killable.map((node) => isLeader(node).catch(() => false)));
    const wantLeader = this.kills++ % 2 === 0;
    const found = leaders.findIndex((leader) => leader === wantLeader);
    const index = found === -1 ? 0 : found;
    const target = killable[index];
    if (!target?.proc) throw new Error('no node to kill');
    const wasLeader = leaders[index] === true;
    const others = this.upNodes().filter((node) => node !== target);
    const killedAt = Date.now();
    await target.proc.kill('SIGKILL');
    const failover = wasLeader
      ? this.oneLeader(others, 'another node to take the indexer role').then(() => Date.now())
      : undefined;
    failover?.catch(() => {}); // awaited below
    await delay(HEALTH_CHECK_MS);
    target.up = false;
    const failoverMs = failover ? (await failover) - killedAt : undefined;
    await delay(Math.max(0, killedAt + DOWN_MS - Date.now()));
    const faultEnded = Date.now();
    await startNode(target, this.ctx.nodeEnv, this.ctx.logDir);
    await until(
      () => isReady(target),
      `${target.name} ready after its restart`,
      RECOVERY_TIMEOUT_MS,
    );
    target.up = true;
    target.restarts++;
    await this.oneLeader(this.upNodes(), 'exactly one indexer leader after the restart');
    const detail = wasLeader
      ? `${target.name}, the indexer leader (role moved in ${failoverMs} ms)`
      : target.name;
    return { detail, faultEnded, failoverMs };
  }

  private async oneLeader(nodes: SoakNode[], what: string): Promise<void> {
    await until(
      async () => (await Promise.all(nodes.map(isLeader))).filter(Boolean).length === 1,
      what,
      RECOVERY_TIMEOUT_MS,
      25,
    );
  }

  /** Error windows last 5 s; stalls alternate 5 s and 13 s (over the 10 s request timeout). */
  private async chainFault(
    mode: 'error' | 'stall',
  ): Promise<{ detail: string; faultEnded: number }> {
    const durationMs = mode === 'stall' && this.stalls++ % 2 === 1 ? 13_000 : 5_000;
    const response = await fetch(`${this.ctx.chainUrl}/sandbox/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mode, durationMs }),
    });
    if (response.status !== 200) throw new Error(`fault injection answered ${response.status}`);
    await delay(durationMs);
    const faultEnded = Date.now();
    const tip = await chainTip(this.ctx.chainUrl);
    await until(
      async () => {
        for (const node of this.upNodes()) {
          const series = await scrape(node);
          if (series.get('identipay_indexer_leader') === 1) {
            return (series.get('identipay_indexer_checkpoint') ?? 0) >= tip;
          }
        }
        return false;
      },
      `the indexer to pass checkpoint ${tip} after the chain ${mode}`,
      RECOVERY_TIMEOUT_MS,
    );
    return { detail: `${durationMs / 1000} s`, faultEnded };
  }

  private upNodes(): SoakNode[] {
    return this.ctx.nodes.filter((node) => node.up);
  }

  private async allReady(what: string): Promise<void> {
    await until(
      async () => (await Promise.all(this.upNodes().map(isReady))).every(Boolean),
      what,
      RECOVERY_TIMEOUT_MS,
    );
  }
}

async function chainTip(chainUrl: string): Promise<number> {
  const body = (await (await fetch(chainUrl)).json()) as { latestCheckpoint: number };
  return body.latestCheckpoint;
}

/**
 * Fault times (ms from the start of the fault phase): rounds of the four kinds, one round per
 * ~40 s (at least one), the first once the load has built up (8 s: slow buyers' watchers are
 * connected by then), the last starting at 80 % of the phase.
 */
export function faultSchedule(phaseMs: number): { atMs: number; kind: FaultKind }[] {
  const rounds = Math.max(1, Math.round(phaseMs / 40_000));
  const count = rounds * FAULT_KINDS.length;
  const first = 8_000;
  const span = Math.max(0, phaseMs * 0.8 - first);
  return Array.from({ length: count }, (_, index) => ({
    atMs: Math.round(first + (span * index) / Math.max(1, count - 1)),
    kind: FAULT_KINDS[index % FAULT_KINDS.length] as FaultKind,
  }));
}
