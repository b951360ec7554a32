import type { TransactionState } from '../store/index.js';

export type TransitionListener = (states: readonly TransactionState[]) => void;

/**
 * Carries every committed transition to every node's hub. Producers publish only after their
 * transaction committed, so a listener never hears of a change the store does not have.
 */
export interface Bus {
  publish(states: readonly TransactionState[]): Promise<void>;
  subscribe(listener: TransitionListener): () => void;
  close(): Promise<void>;
}

/** The single-process bus: the embedded database serves one process, so this is all it needs. */
export function createLocalBus(): Bus {
  const listeners = new Set<TransitionListener>();
  return {
    async publish(states) {
      if (states.length === 0) return;
      for (const listener of listeners) listener(states);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      listeners.clear();
    },
  };
}
