import type { Freshness } from '../hub/index.js';
import type { Store } from '../store/index.js';
import type { Indexer } from './index.js';

/**
 * How far settlements are indexed, for pending statuses. The node that runs the indexer knows
 * it first-hand; the others read the saved cursor. Connects are a hot path, so the value is
 * served from memory and refreshed in the background at most every `maxAgeMs`.
 */
export function createFreshness(deps: {
  store: Store;
  indexer: () => Indexer;
  maxAgeMs?: number;
}): { current(): Freshness | undefined } {
  const maxAgeMs = deps.maxAgeMs ?? 250;
  let cached: Freshness | undefined;
  let readAt = 0;
  let refreshing = false;

  const refresh = () => {
    refreshing = true;
    deps.store.settlements
      .latestCursor()
      .then((cursor) => {
        if (cursor) cached = { checkpoint: cursor.checkpoint, timestamp: cursor.timestamp };
      })
      .catch(() => undefined) // stale freshness is better than none; /ready reports the store
      .finally(() => {
        readAt = Date.now();
        refreshing = false;
      });
  };

  return {
    current() {
      const status = deps.indexer().status();
      if (status.role === 'leader' && status.checkpoint !== undefined) {
        return { checkpoint: status.checkpoint, timestamp: status.checkpointTimestamp ?? null };
      }
      if (!refreshing && Date.now() - readAt > maxAgeMs) refresh();
      return cached;
    },
  };
}
