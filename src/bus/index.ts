import type { TransactionState } from '../store/index.js';

export type TransitionListener = (states: readonly TransactionState[]) => void;

/**
 * Carries every committed transition to every node's hub. Producers publish only after their
 * transaction committed, or send the notification inside it (`inTransaction`, delivered by the
 * commit), so a listener never hears of a change the store does not have.
 *
 * Every implementation delivers a node's own transitions to its local listeners before
 * `publish` resolves, whether or not the engine took them (no round trip through it), right
 * after handing them to the engine: the other nodes' wait for the engine overlaps this node's
 * own fan-out. It drops its own messages when the engine echoes them back (each message
 * carries the origin node id).
 */
export interface Bus {
  readonly nodeId: string;
  publish(states: readonly TransactionState[]): Promise<void>;
  subscribe(listener: TransitionListener): () => void;
  /**
   * Called each time the bus has (re)subscribed after losing its connection: notifications sent
   * during the outage are gone, so the hub re-reads what its sockets watch from the store.
   */
  onResubscribed(listener: () => void): () => void;
  /** True while subscribed to the engine (readiness). */
  readonly subscribed: boolean;
  /** Set when the engine can take a producer's notification inside its database transaction. */
  readonly inTransaction?: InTransactionNotice;
  close(): Promise<void>;
}

/**
 * The Postgres bus shares the store's database, so a producer can send its NOTIFY inside the
 * transaction that commits the transitions: the other nodes hear of them at the commit itself,
 * not one statement (and one turn of every busy process) later, and a producer that dies right
 * after its commit has already told them. The store runs the statement; `committed` then hands
 * the states to this node's own listeners, which the engine's echo never reaches.
 */
export interface InTransactionNotice {
  readonly channel: string;
  /** The bus's messages for these states, one per line, as its own statement takes them. */
  lines(states: readonly TransactionState[]): string;
  committed(states: readonly TransactionState[]): void;
}

/** The single-process bus: the embedded database serves one process, so this is all it needs. */
export function createLocalBus(nodeId: string, onListenerError?: ListenerErrorHandler): Bus {
  const fanOut = createFanOut(onListenerError);
  return {
    nodeId,
    subscribed: true,
    async publish(states) {
      fanOut.deliver(states);
    },
    subscribe: fanOut.subscribe,
    onResubscribed: () => () => {},
    async close() {
      fanOut.clear();
    },
  };
}

export type ListenerErrorHandler = (error: unknown) => void;

/**
 * The listener set every implementation keeps for its own node. Each listener is guarded: one
 * that throws must not keep the states from the others, nor fail the publish (the transition
 * is already committed) or the engine connection that delivered them.
 */
export function createFanOut(onListenerError: ListenerErrorHandler = () => {}) {
  const listeners = new Set<TransitionListener>();
  return {
    deliver(states: readonly TransactionState[]) {
      if (states.length === 0) return;
      for (const listener of listeners) {
        try {
          listener(states);
        } catch (error) {
          onListenerError(error);
        }
      }
    },
    subscribe(listener: TransitionListener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    clear() {
      listeners.clear();
    },
  };
}

export { createBus, resolveBusKind, type BusConfig, type BusKind } from './create.js';
