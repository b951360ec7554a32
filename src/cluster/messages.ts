import type { Worker } from 'node:cluster';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';

/** The primary tells each worker its slot (0 … WORKERS-1) here; a restarted worker keeps it. */
export const WORKER_SLOT_ENV = 'IDENTIPAY_WORKER_SLOT';

export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

/** Worker → primary over the cluster IPC channel. */
export type WorkerMessage =
  | { type: 'identipay:ready'; url: string; port: number; nodeId: string }
  /** Someone scraped this worker's /metrics: the primary gathers every worker's. */
  | { type: 'identipay:metrics-request'; requestId: number }
  | {
      type: 'identipay:metrics-collected';
      requestId: number;
      metrics?: MetricsJson;
      error?: string;
    };

/** Primary → worker. */
export type PrimaryMessage =
  | { type: 'identipay:collect-metrics'; requestId: number }
  | { type: 'identipay:metrics'; requestId: number; text?: string; error?: string };

/** Other modules may use the IPC channel too (prom-client does): only ours carry this prefix. */
export function isOurs<T extends { type: string }>(message: unknown): message is T {
  return (
    typeof message === 'object' &&
    message !== null &&
    typeof (message as { type?: unknown }).type === 'string' &&
    (message as { type: string }).type.startsWith('identipay:')
  );
}

/** Sends to the primary; false when the channel is gone (the primary died or is stopping us). */
export function sendToPrimary(message: WorkerMessage): boolean {
  if (!process.send || !process.connected) return false;
  try {
    // A false return only means the channel is backed up: the message is still queued.
    process.send(message, undefined, {}, () => {});
    return true;
  } catch {
    return false;
  }
}

/** Sends to a worker; a worker whose channel just closed is skipped (its exit is handled). */
export function sendToWorker(worker: Worker, message: PrimaryMessage): void {
  if (worker.isConnected()) worker.send(message, undefined, () => {});
}
