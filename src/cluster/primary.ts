import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { createLogger } from '../logger.js';
import { bannerText } from './banner.js';
import { isOurs, WORKER_SLOT_ENV, type WorkerMessage } from './messages.js';
import { ClusterMetrics } from './metrics.js';
import { prepareShared, type SharedResources } from './shared.js';

/** Restart backoff: 0.5 s, 1 s, 2 s … 30 s while a slot keeps dying young. */
const RESTART_BASE_MS = 500;
const RESTART_MAX_MS = 30_000;
/** A worker that lived this long before dying restarts at the base delay again. */
const STABLE_AFTER_MS = 60_000;
/** The workers' own deadline is SHUTDOWN_TIMEOUT_MS: give their exit this long to arrive. */
const EXIT_GRACE_MS = 1_000;

/**
 * The cluster primary: serves nothing itself. Prepares what must happen once, forks WORKERS
 * workers (each a full node on the shared bus; node:cluster shares PORT between them), prints the
 * banner when all listen, restarts a worker that dies, and on SIGTERM/SIGINT stops them all.
 */
export async function runPrimary(config: Config): Promise<void> {
  const root = createLogger(config.logLevel);
  // Round-robin (the primary accepts, then hands each connection to the next worker) spreads
  // sockets evenly whatever the load, so no worker reaches its file or socket limit first. It
  // costs a connect burst half its rate: 3,980 against 7,998 sockets/s (314 against 126 µs of
  // CPU each) with 50,000 sockets on 4 workers, where SCHED_NONE (workers accepting on the
  // shared socket, NODE_CLUSTER_SCHED_POLICY=none, which still overrides this) left 28 % of
  // them on the busiest worker; Node's documentation reports far worse spreads under other
  // loads.
  if (!process.env.NODE_CLUSTER_SCHED_POLICY) cluster.schedulingPolicy = cluster.SCHED_RR;
  const shared = await prepareShared(config, root);
  const supervisor = new Supervisor(config, shared, root.child({ component: 'cluster' }));
  // A second signal is not caught: like a single process, it forces the exit (the workers, cut
  // off from the primary, stop by themselves).
  process.once('SIGTERM', () => supervisor.stop('SIGTERM', 0, 'SIGTERM'));
  process.once('SIGINT', () => supervisor.stop('SIGINT', 0, 'SIGINT'));
  supervisor.start();
}

interface Slot {
  index: number;
  worker: Worker | undefined;
  ready: boolean;
  startedAt: number;
  /** Deaths in a row of workers that did not live STABLE_AFTER_MS. */
  failures: number;
  restartTimer: NodeJS.Timeout | undefined;
}

class Supervisor {
  private readonly slots: Slot[];
  private readonly metrics: ClusterMetrics;
  private phase: 'starting' | 'running' | 'stopping' = 'starting';
  private exitCode = 0;
  private finished = false;

  constructor(
    private readonly config: Config,
    private readonly shared: SharedResources,
    private readonly logger: Logger,
  ) {
    this.slots = Array.from({ length: config.workers }, (_, index) => ({
      index,
      worker: undefined,
      ready: false,
      startedAt: 0,
      failures: 0,
      restartTimer: undefined,
    }));
    const readyWorkers = () =>
      this.slots.flatMap((slot) => (slot.ready && slot.worker ? [slot.worker] : []));
    this.metrics = new ClusterMetrics(readyWorkers, logger);
  }

  start(): void {
    for (const slot of this.slots) this.fork(slot);
  }

  /** Forwards `signal` to every worker; exits once all are gone, or kills them at the deadline. */
  stop(reason: string, code: 0 | 1, signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.phase === 'stopping') return;
    this.phase = 'stopping';
    this.exitCode = code;
    this.logger.info({ reason }, 'stopping the workers');
    for (const slot of this.slots) {
      clearTimeout(slot.restartTimer);
      slot.worker?.process.kill(signal);
    }
    setTimeout(() => {
      this.logger.error('shutdown deadline passed; killing the workers that are left');
      for (const slot of this.slots) slot.worker?.process.kill('SIGKILL');
      this.exitCode = 1;
      // Their exits end the primary; this is the backstop should one never be reported.
      setTimeout(() => process.exit(1), EXIT_GRACE_MS).unref();
    }, this.config.shutdownTimeoutMs + EXIT_GRACE_MS).unref();
    this.finishIfIdle();
  }

  private fork(slot: Slot): void {
    slot.restartTimer = undefined;
    const worker = cluster.fork({ ...this.shared.env, [WORKER_SLOT_ENV]: String(slot.index) });
    Object.assign(slot, { worker, ready: false, startedAt: Date.now() });
    const pid = worker.process.pid;
    this.logger.info({ worker: slot.index, pid }, 'worker started');
    worker.on('error', (error: Error) =>
      this.logger.warn({ err: error, worker: slot.index, pid }, 'worker IPC error'),
    );
    worker.on('message', (message: unknown) => {
      if (!isOurs<WorkerMessage>(message) || this.metrics.handle(worker, message)) return;
      if (message.type === 'identipay:ready' && slot.worker === worker) {
        slot.ready = true;
        this.logger.info({ worker: slot.index, pid, nodeId: message.nodeId }, 'worker ready');
        this.printBannerOnceAllReady(message.url);
      }
    });
    worker.on('exit', (code: number | null, signal: string | null) => {
      if (slot.worker !== worker) return;
      slot.worker = undefined;
      slot.ready = false;
      this.exited(slot, { pid, code, signal });
    });
  }

  private printBannerOnceAllReady(url: string): void {
    if (this.phase !== 'starting' || !this.slots.every((slot) => slot.ready)) return;
    this.phase = 'running';
    const text = bannerText({
      url,
      sandbox: this.config.sandbox,
      database: 'Postgres',
      workers: this.config.workers,
      generatedAdminToken: this.shared.generatedAdminToken,
      demoMerchant: this.shared.demoMerchant,
    });
    process.stdout.write(`${text}\n`);
  }

  private exited(
    slot: Slot,
    died: { pid: number | undefined; code: number | null; signal: string | null },
  ): void {
    const facts = { worker: slot.index, ...died };
    if (this.phase === 'starting') {
      this.logger.error(facts, 'worker failed to start');
      return this.stop('a worker failed to start', 1);
    }
    if (this.phase === 'stopping') {
      // A clean stop exits 0; a worker still starting up dies of the signal itself.
      if (died.code !== 0 && died.signal !== 'SIGTERM' && died.signal !== 'SIGINT')
        this.exitCode = 1;
      return this.finishIfIdle();
    }
    const livedMs = Date.now() - slot.startedAt;
    slot.failures = livedMs >= STABLE_AFTER_MS ? 1 : slot.failures + 1;
    const restartInMs = Math.min(RESTART_MAX_MS, RESTART_BASE_MS * 2 ** (slot.failures - 1));
    this.logger.error({ ...facts, livedMs, restartInMs }, 'worker died; restarting it');
    this.metrics.restarts.inc();
    slot.restartTimer = setTimeout(() => this.fork(slot), restartInMs);
  }

  private finishIfIdle(): void {
    if (this.finished || this.slots.some((slot) => slot.worker)) return;
    this.finished = true;
    this.shared.stop().then(
      () => process.exit(this.exitCode),
      (error: unknown) => {
        this.logger.error({ err: error }, 'stopping the sandbox chain failed');
        process.exit(1);
      },
    );
  }
}
