import type { TransactionState } from '../store/index.js';
import { TRANSACTION_STATUSES, type TransactionStatus } from '../wire/index.js';

/**
 * The bus message on the wire: origin node id and the transitions, short keys to stay far below
 * Postgres's 8,000-byte NOTIFY limit. Engines carry strings; this is the one place that knows
 * their shape.
 */
interface WireState {
  t: string;
  s: TransactionStatus;
  v: number;
  d: string | null;
  a: string | null;
  l: boolean;
}

export interface BusMessage {
  origin: string;
  states: TransactionState[];
}

/** Conservative bytes per message: NOTIFY payloads must stay under 8,000 bytes. */
export const MAX_MESSAGE_BYTES = 7_500;

export function encodeMessages(origin: string, states: readonly TransactionState[]): string[] {
  const messages: string[] = [];
  let batch: WireState[] = [];
  // Bytes, not UTF-16 code units: NOTIFY's limit is in bytes and a node id may be non-ASCII.
  const envelopeBytes = Buffer.byteLength(JSON.stringify({ o: origin, s: [] }));
  let size = envelopeBytes;
  const flush = () => {
    if (batch.length > 0) messages.push(JSON.stringify({ o: origin, s: batch }));
    batch = [];
    size = envelopeBytes;
  };
  for (const state of states) {
    const wire: WireState = {
      t: state.transactionId,
      s: state.status,
      v: state.version,
      d: state.suiTxDigest,
      a: state.settledAt?.toISOString() ?? null,
      l: state.late,
    };
    const bytes = Buffer.byteLength(JSON.stringify(wire)) + 1;
    if (size + bytes > MAX_MESSAGE_BYTES) flush();
    batch.push(wire);
    size += bytes;
  }
  flush();
  return messages;
}

/** Undefined for anything malformed: a bad message from the engine must not crash a node. */
export function decodeMessage(text: string): BusMessage | undefined {
  try {
    const parsed = JSON.parse(text) as { o?: unknown; s?: unknown };
    if (typeof parsed.o !== 'string' || !Array.isArray(parsed.s)) return undefined;
    const states: TransactionState[] = [];
    for (const item of parsed.s as Partial<WireState>[]) {
      if (
        typeof item.t !== 'string' ||
        !TRANSACTION_STATUSES.includes(item.s as TransactionStatus) ||
        typeof item.v !== 'number'
      ) {
        return undefined;
      }
      states.push({
        transactionId: item.t,
        status: item.s as TransactionStatus,
        version: item.v,
        suiTxDigest: typeof item.d === 'string' ? item.d : null,
        settledAt: typeof item.a === 'string' ? new Date(item.a) : null,
        late: item.l === true,
      });
    }
    return { origin: parsed.o, states };
  } catch {
    return undefined;
  }
}
