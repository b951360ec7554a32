import type { Logger } from 'pino';
import type { Bus } from '../bus/index.js';
import type { Store } from '../store/index.js';

export interface ExpirySweeperDeps {
  store: Store;
  bus: Bus;
  logger: Logger;
  intervalMs: number;
  now: () => Date;
  /** Most proposals expired per statement; a backlog is drained batch after batch. */
  batchSize?: number;
}

/**
 * Moves pending proposals past their expiresAt to expired and publishes each change. Runs on
 * every node: the conditional UPDATE (and SKIP LOCKED) makes each expiry happen exactly once.
 */
export function startExpirySweeper(deps: ExpirySweeperDeps): { stop: () => Promise<void> } {
  const batchSize = deps.batchSize ?? 500;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;

  const sweep = async () => {
    for (;;) {
      const expired = await deps.store.proposals.expireDue(deps.now(), batchSize);
      if (expired.length > 0) {
        deps.logger.debug({ count: expired.length }, 'proposals expired');
        await deps.bus.publish(expired);
      }
      if (expired.length < batchSize || stopped) return;
    }
  };

  const tick = () => {
    running = sweep()
      .catch((error: unknown) => deps.logger.error({ err: error }, 'expiry sweep failed'))
      .finally(() => {
        running = undefined;
        if (!stopped) timer = setTimeout(tick, deps.intervalMs);
      });
  };
  timer = setTimeout(tick, deps.intervalMs);

  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
