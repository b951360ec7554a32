import cluster, { type Worker } from 'node:cluster';
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

interface Slot {
  index: number;
  worker: Worker | undefined;
  ready: boolean;
  startedAt: number;
  /** Deaths in a row of workers that did not live STABLE_AFTER_MS. */
  failures: number;
  restartTimer: NodeJS.Timeout | undefined;
}

type Phase = 'starting' | 'running' | 'stopping';

/**
 * The cluster primary: serves nothing itself. Prepares what must happen once, forks WORKERS
 * workers (each a full node on the shared bus; node:cluster shares PORT between them), prints the
 * banner when all listen, restarts a worker that dies, and on SIGTERM/SIGINT stops them all.
 */
export async function runPrimary(config: Config): Promise<void> {
  const root = createLogger(config.logLevel);
  const logger = root.child({ component: 'cluster' });
  // Node reads NODE_CLUSTER_SCHED_POLICY itself; when it is unset, this default applies.
  if (!process.env.NODE_CLUSTER_SCHED_POLICY) cluster.schedulingPolicy = cluster.SCHED_RR;
  const shared = await prepareShared(config, root);
  const slots: Slot[] = Array.from({ length: config.workers }, (_, index) => ({
    index,
    worker: undefined,
    ready: false,
    startedAt: 0,
    failures: 0,
    restartTimer: undefined,
  }));
  const metrics = new ClusterMetrics(
    () => slots.flatMap((slot) => (slot.ready && slot.worker ? [slot.worker] : [])),
    logger,
  );
  let phase: Phase = 'starting';
  let exitCode = 0;

  const fork = (slot: Slot) => {
    slot.restartTimer = undefined;
    const worker = cluster.fork({ ...shared.env, [WORKER_SLOT_ENV]: String(slot.index) });
    Object.assign(slot, { worker, ready: false, startedAt: Date.now() });
    const pid = worker.process.pid;
    logger.info({ worker: slot.index, pid }, 'worker started');
    worker.on('error', (error: Error) => logger.warn({ err: error, worker: slot.index }, 'IPC'));
    worker.on('message', (message: unknown) => {
      if (!isOurs<WorkerMessage>(message) || metrics.handle(worker, message)) return;
      if (message.type !== 'identipay:ready' || slot.worker !== worker) return;
      slot.ready = true;
      logger.info({ worker: slot.index, pid, nodeId: message.nodeId }, 'worker ready');
      if (phase === 'starting' && slots.every((each) => each.ready)) {
        phase = 'running';
        process.stdout.write(`${banner(config, shared, message.url)}\n`);
      }
    });
    worker.on('exit', (code: number | null, signal: string | null) => {
      if (slot.worker !== worker) return;
      slot.worker = undefined;
      slot.ready = false;
      if (phase === 'running') return restart(slot, { pid, code, signal });
      if (phase === 'starting') {
        logger.error({ worker: slot.index, pid, code, signal }, 'worker failed to start');
        return stop('a worker failed to start', 1);
      }
      // Stopping: a clean exit is 0, or the signal itself for a worker still starting up.
      if (code !== 0 && signal !== 'SIGTERM' && signal !== 'SIGINT') exitCode = 1;
      finishIfIdle();
    });
  };

  const restart = (
    slot: Slot,
    died: { pid?: number; code: number | null; signal: string | null },
  ) => {
    const lived = Date.now() - slot.startedAt;
    slot.failures = lived >= STABLE_AFTER_MS ? 1 : slot.failures + 1;
    const delayMs = Math.min(RESTART_MAX_MS, RESTART_BASE_MS * 2 ** (slot.failures - 1));
    logger.error(
      { worker: slot.index, ...died, livedMs: lived, restartInMs: delayMs },
      'worker died',
    );
    metrics.restarts.inc();
    slot.restartTimer = setTimeout(() => fork(slot), delayMs);
  };

  let finished = false;
  const finishIfIdle = () => {
    if (finished || slots.some((slot) => slot.worker)) return;
    finished = true;
    shared.stop().then(
      () => process.exit(exitCode),
      (error: unknown) => {
        logger.error({ err: error }, 'stopping the sandbox chain failed');
        process.exit(1);
      },
    );
  };

  /** Forwards `signal` to every worker; exits when all are gone, or SIGKILLs them at the deadline. */
  const stop = (reason: string, code: 0 | 1, signal: NodeJS.Signals = 'SIGTERM') => {
    if (phase === 'stopping') return;
    phase = 'stopping';
    exitCode = code;
    logger.info({ reason }, 'stopping the workers');
    for (const slot of slots) {
      clearTimeout(slot.restartTimer);
      slot.worker?.process.kill(signal);
    }
    setTimeout(() => {
      logger.error('shutdown deadline passed; killing the workers that are left');
      for (const slot of slots) slot.worker?.process.kill('SIGKILL');
      exitCode = 1;
      // Their exits call finishIfIdle; this is the backstop if one never reports.
      setTimeout(() => process.exit(1), EXIT_GRACE_MS).unref();
    }, config.shutdownTimeoutMs + EXIT_GRACE_MS).unref();
    finishIfIdle();
  };

  // A second signal is not caught: like a single process, it forces the exit (the workers, cut
  // off from the primary, stop by themselves).
  process.once('SIGTERM', () => stop('SIGTERM', 0, 'SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT', 0, 'SIGINT'));
  for (const slot of slots) fork(slot);
}

function banner(config: Config, shared: SharedResources, url: string): string {
  return bannerText({
    url,
    sandbox: config.sandbox,
    database: 'Postgres',
    workers: config.workers,
    generatedAdminToken: shared.generatedAdminToken,
    demoMerchant: shared.demoMerchant,
  });
}
