/**
 * Hub micro-benchmarks: the in-memory part of a connect (register + snapshot through the gate)
 * and of a fan-out (one deliver to many sockets), without sockets or a database, so that hub
 * changes can be compared before and after.
 */
import { randomUUID } from 'node:crypto';
import { Hub, type HubSocket } from '../src/hub/index.js';
import type { TransactionState } from '../src/store/index.js';
import type { Row } from './report.js';

class NullSocket implements HubSocket {
  sent = 0;
  sendFrame(): void {
    this.sent++;
  }
  sendFinalFrame(): void {
    this.sent++;
  }
  closeWith(): void {}
}

export interface HubLike {
  watch(transactionId: string, socket: HubSocket): { readonly ready: Promise<void> };
  deliver(states: readonly TransactionState[]): void;
}

const pending = (transactionId: string): TransactionState => ({
  transactionId,
  status: 'pending',
  version: 1,
  suiTxDigest: null,
  settledAt: null,
  late: false,
});

export async function hubFigures(
  label: string,
  makeHub: (loadState: (id: string) => Promise<TransactionState | undefined>) => HubLike,
  sockets = 50_000,
  transactions = 25_000,
): Promise<Row[]> {
  const ids: string[] = Array.from({ length: transactions }, () => randomUUID());
  const states = new Map(ids.map((id) => [id, pending(id)]));
  const hub = makeHub(async (id) => states.get(id));
  const all: NullSocket[] = [];
  const began = performance.now();
  const ready: Promise<void>[] = [];
  for (let i = 0; i < sockets; i++) {
    const socket = new NullSocket();
    all.push(socket);
    ready.push(hub.watch(ids[i % transactions] as string, socket).ready);
  }
  await Promise.all(ready);
  const connectSeconds = (performance.now() - began) / 1000;

  // A resync offers every watched transaction's state again; here none has changed.
  const resyncStart = performance.now();
  hub.deliver([...states.values()]);
  const resyncMs = performance.now() - resyncStart;
  const resent = all.reduce((sum, socket) => sum + socket.sent, 0) - sockets;
  if (resent !== 0) throw new Error(`${label}: a resync of unchanged states sent ${resent}`);

  const settled = ids.map((id) => ({
    ...pending(id),
    status: 'settled' as const,
    version: 2,
    suiTxDigest: 'D'.repeat(44),
    settledAt: new Date(),
  }));
  const fanOutStart = performance.now();
  hub.deliver(settled);
  const fanOutMs = performance.now() - fanOutStart;
  const delivered = all.reduce((sum, socket) => sum + socket.sent, 0) - sockets;
  if (delivered !== sockets) throw new Error(`${label}: delivered ${delivered} of ${sockets}`);
  return [
    {
      figure: `hub watch + snapshot (${label}, ${sockets} sockets)`,
      value: sockets / connectSeconds,
      unit: 'connects/s',
    },
    {
      figure: `hub resync of ${transactions} unchanged states, ${sockets} sockets (${label})`,
      value: resyncMs,
      unit: 'ms',
    },
    {
      figure: `hub fan-out of ${transactions} settlements to ${sockets} sockets (${label})`,
      value: fanOutMs,
      unit: 'ms',
    },
  ];
}

export function currentHub(
  loadState: (id: string) => Promise<TransactionState | undefined>,
): HubLike {
  return new Hub({ loadState, freshness: () => ({ checkpoint: 1n, timestamp: new Date() }) });
}
