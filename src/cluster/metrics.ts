import type { Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client';
import {
  isOurs,
  sendToPrimary,
  sendToWorker,
  type MetricsJson,
  type PrimaryMessage,
  type WorkerMessage,
} from './messages.js';

/** A worker that does not answer in this time is left out of that scrape (it may be dying). */
const COLLECT_TIMEOUT_MS = 2_000;
/** A scrape fails (500) when the primary does not answer within this. */
const ASK_TIMEOUT_MS = 5_000;

/**
 * Worker side. Every series of this worker's registry is labelled `worker="<slot>"`; /metrics
 * (whichever worker the scrape lands on) asks the primary, which gathers every worker's series.
 */
export function workerMetricsRegistry(own: Registry, slot: number): Registry {
  own.setDefaultLabels({ worker: String(slot) });
  const pending = new Map<number, (answer: { text?: string; error?: string }) => void>();
  let nextId = 0;
  process.on('message', (message: unknown) => {
    if (!isOurs<PrimaryMessage>(message)) return;
    if (message.type === 'identipay:collect-metrics') {
      const { requestId } = message;
      own.getMetricsAsJSON().then(
        (metrics) => sendToPrimary({ type: 'identipay:metrics-collected', requestId, metrics }),
        (error: unknown) =>
          sendToPrimary({
            type: 'identipay:metrics-collected',
            requestId,
            error: error instanceof Error ? error.message : String(error),
          }),
      );
    } else if (message.type === 'identipay:metrics') {
      pending.get(message.requestId)?.(message);
    }
  });

  return new (class ClusterRegistry extends Registry {
    override metrics(): Promise<string> {
      const requestId = nextId++;
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(
          () => answer({ error: 'the primary did not answer' }),
          ASK_TIMEOUT_MS,
        );
        const answer = ({ text, error }: { text?: string; error?: string }) => {
          clearTimeout(timer);
          pending.delete(requestId);
          if (text === undefined) reject(new Error(`cluster metrics: ${error ?? 'no answer'}`));
          else resolve(text);
        };
        pending.set(requestId, answer);
        if (!sendToPrimary({ type: 'identipay:metrics-request', requestId }))
          answer({ error: 'no channel to the primary' });
      });
    }
  })();
}

interface Collection {
  responses: Map<Worker, MetricsJson>;
  waiting: Set<Worker>;
  done: () => void;
}

/**
 * Primary side: its own two series, and the gathering of every worker's registry into one text
 * (prom-client's AggregatorRegistry.aggregate merges same-named metrics; with the `worker` label
 * no two workers' series collide, so nothing is summed: sum() in PromQL where wanted).
 */
export class ClusterMetrics {
  readonly registry = new Registry();
  readonly restarts = new Counter({
    name: 'identipay_cluster_worker_restarts_total',
    help: 'Workers the primary restarted after they died unexpectedly',
    registers: [this.registry],
  });
  private readonly collections = new Map<number, Collection>();
  private nextId = 0;

  constructor(
    private readonly workers: () => Worker[],
    private readonly logger: Logger,
  ) {
    new Gauge({
      name: 'identipay_cluster_workers',
      help: 'Workers listening (ready), out of WORKERS',
      registers: [this.registry],
      collect() {
        this.set(workers().length);
      },
    });
  }

  /** Handles a worker's metrics messages; false for any other message. */
  handle(worker: Worker, message: WorkerMessage): boolean {
    if (message.type === 'identipay:metrics-request') {
      const { requestId } = message;
      this.gather().then(
        (text) => sendToWorker(worker, { type: 'identipay:metrics', requestId, text }),
        (error: unknown) =>
          sendToWorker(worker, { type: 'identipay:metrics', requestId, error: String(error) }),
      );
      return true;
    }
    if (message.type === 'identipay:metrics-collected') {
      const collection = this.collections.get(message.requestId);
      if (!collection?.waiting.delete(worker)) return true;
      if (message.metrics) collection.responses.set(worker, message.metrics);
      else this.logger.warn({ error: message.error }, 'a worker could not collect its metrics');
      if (collection.waiting.size === 0) collection.done();
      return true;
    }
    return false;
  }

  /** Every ready worker's series and the primary's, as Prometheus text. */
  async gather(): Promise<string> {
    const requestId = this.nextId++;
    const collection: Collection = { responses: new Map(), waiting: new Set(), done: () => {} };
    const finished = new Promise<void>((resolve) => (collection.done = resolve));
    const workers = this.workers();
    for (const worker of workers) {
      if (!worker.isConnected()) continue;
      collection.waiting.add(worker);
      sendToWorker(worker, { type: 'identipay:collect-metrics', requestId });
    }
    this.collections.set(requestId, collection);
    if (collection.waiting.size > 0) {
      const timer = setTimeout(collection.done, COLLECT_TIMEOUT_MS);
      await finished;
      clearTimeout(timer);
    }
    this.collections.delete(requestId);
    if (collection.waiting.size > 0)
      this.logger.warn({ missing: collection.waiting.size }, 'metrics: workers did not answer');
    // In slot order, whatever order they answered in: a stable text for people reading it.
    const answered = workers
      .map((worker) => collection.responses.get(worker))
      .filter((metrics) => metrics !== undefined);
    const all = [await this.registry.getMetricsAsJSON(), ...answered];
    return AggregatorRegistry.aggregate(all).metrics();
  }
}
