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
  // Each state is serialised once and the message assembled around it: what JSON.stringify of
  // the whole message would write, in a quarter less time (the indexer's worker does this
  // between the commit and the statement that tells the other nodes).
  const head = `${originPrefix(origin)}"s":[`;
  const envelopeBytes = Buffer.byteLength(head) + 2; // + "]}"
  let batch: string[] = [];
  let size = envelopeBytes;
  const flush = () => {
    if (batch.length > 0) messages.push(`${head}${batch.join(',')}]}`);
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
    const text = JSON.stringify(wire);
    // Bytes, not UTF-16 code units: NOTIFY's limit is in bytes. + 1 for the comma.
    const bytes = Buffer.byteLength(text) + 1;
    if (size + bytes > MAX_MESSAGE_BYTES) flush();
    batch.push(text);
    size += bytes;
  }
  flush();
  return messages;
}

/** How every message from `origin` begins: `{"o":<origin>,`. */
function originPrefix(origin: string): string {
  return `{"o":${JSON.stringify(origin)},`;
}

/**
 * True for a message this node sent itself (engines echo a node's publishes back to it): told
 * from its first bytes, without parsing the rest, since the node has delivered them already.
 */
export function isFrom(text: string, origin: string): boolean {
  return text.startsWith(originPrefix(origin));
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
