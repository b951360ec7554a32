import type { Logger } from 'pino';
import { decodeMessage, isFrom } from './codec.js';
import { createFanOut } from './index.js';

type FanOut = ReturnType<typeof createFanOut>;

/** The channel every node of one deployment shares unless configured otherwise. */
export const DEFAULT_BUS_CHANNEL = 'identipay_status';

/** Longest wait between reconnect attempts: an outage ends, the bus is back within this. */
export const MAX_RECONNECT_DELAY_MS = 2_000;

/** A publish that has not settled by then rejects, so no producer hangs on a dead engine. */
export const PUBLISH_TIMEOUT_MS = 5_000;

/**
 * Exponential backoff from 50 ms, capped at 2 s, with jitter so that many nodes cut off at once
 * do not reconnect in lockstep. `attempt` counts from 0.
 */
export function reconnectDelayMs(attempt: number): number {
  const base = 50 * 2 ** Math.min(attempt, 16);
  const jittered = base * (0.75 + Math.random() * 0.5);
  return Math.round(Math.min(jittered, MAX_RECONNECT_DELAY_MS));
}

/**
 * Both engines take the channel in places where quoting differs (a Postgres identifier, a
 * Redis key-like name); one conservative alphabet keeps them from ever disagreeing.
 */
export function assertChannelName(channel: string): void {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(channel)) {
    throw new Error(
      `invalid bus channel ${JSON.stringify(channel)}: letters, digits and _ only, at most 63`,
    );
  }
}

/** Node ids name connections (Redis CLIENT SETNAME forbids spaces): keep them printable. */
export function connectionName(role: 'listen' | 'publish', nodeId: string): string {
  return `identipay-status-bus-${role}-${nodeId.replace(/[^A-Za-z0-9._:-]/g, '_')}`;
}

/** This node's listeners; a listener that throws is logged (see createFanOut). */
export function createGuardedFanOut(log: Logger): FanOut {
  return createFanOut((error) => log.error({ err: error }, 'bus listener failed'));
}

/** What both engines do with a message they received: decode, drop echoes and garbage, deliver. */
export function receiveMessage(
  text: string,
  { nodeId, fanOut, log }: { nodeId: string; fanOut: FanOut; log: Logger },
): void {
  if (isFrom(text, nodeId)) return; // our own, already delivered inside publish: not parsed
  const message = decodeMessage(text);
  if (!message) {
    log.debug({ bytes: text.length }, 'dropped a malformed bus message');
    return;
  }
  fanOut.deliver(message.states);
}

/** The `onResubscribed` listener set: fired on every re-subscription, never on the first. */
export function createSignal(log: Logger) {
  const listeners = new Set<() => void>();
  return {
    add(listener: () => void) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    fire() {
      for (const listener of listeners) {
        try {
          listener();
        } catch (error) {
          log.error({ err: error }, 'resubscribed listener failed');
        }
      }
    },
    clear() {
      listeners.clear();
    },
  };
}

/** Rejects with a clear message when `promise` has not settled in time; never leaves a timer. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export class BusClosedError extends Error {
  constructor() {
    super('the bus is closed');
  }
}
