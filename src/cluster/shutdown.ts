import type { Logger } from 'pino';

export interface ShutdownDeps {
  logger: Logger;
  /** Past this the process exits 1 whatever is still running. */
  shutdownTimeoutMs: number;
  /**
   * Keep handling the signals after the first: a cluster worker gets Ctrl-C's SIGINT from the
   * terminal and again from the primary, and must not die of the second. A single process lets
   * a second signal kill it (a second Ctrl-C forces the exit).
   */
  ignoreRepeats: boolean;
}

/**
 * Stops the node on SIGTERM/SIGINT and exits: 0 once it stopped, 1 if stopping failed or took
 * longer than the deadline.
 */
export function stopOnSignals(node: { stop(): Promise<void> }, deps: ShutdownDeps): void {
  let started = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (started) return;
    started = true;
    deps.logger.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => {
      deps.logger.error('shutdown deadline passed; exiting');
      process.exit(1);
    }, deps.shutdownTimeoutMs);
    deadline.unref();
    node.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        deps.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    if (deps.ignoreRepeats) process.on(signal, () => shutdown(signal));
    else process.once(signal, () => shutdown(signal));
  }
}
