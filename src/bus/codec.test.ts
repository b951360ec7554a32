import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { TransactionState } from '../store/index.js';
import { MAX_MESSAGE_BYTES, decodeMessage, encodeMessages, isFrom } from './codec.js';

const states: TransactionState[] = Array.from({ length: 400 }, (_, i) => ({
  transactionId: randomUUID(),
  status: i % 2 === 0 ? 'settled' : 'expired',
  version: i + 1,
  suiTxDigest: i % 2 === 0 ? `D${i}`.padEnd(44, 'x') : null,
  settledAt: i % 2 === 0 ? new Date(Date.UTC(2026, 1, 2, 3, 4, i % 60)) : null,
  late: i % 3 === 0,
}));

describe('the bus codec', () => {
  it('round-trips states and their origin across as many messages as it takes', () => {
    const messages = encodeMessages('node-a', states);
    expect(messages.length).toBeGreaterThan(1);
    const decoded = messages.map((message) => decodeMessage(message));
    expect(decoded.every((message) => message?.origin === 'node-a')).toBe(true);
    expect(decoded.flatMap((message) => message?.states ?? [])).toEqual(states);
  });

  it('keeps every message under the NOTIFY limit in bytes, also for a non-ASCII origin', () => {
    const origin = 'nœud-été-'.repeat(40);
    for (const message of encodeMessages(origin, states)) {
      expect(Buffer.byteLength(message)).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
    }
  });

  it('writes what JSON.stringify would, never a raw line break (the Postgres bus splits on them)', () => {
    for (const origin of ['node-a', 'a "quoted"\nnode\u2028']) {
      for (const message of encodeMessages(origin, states)) {
        expect(JSON.stringify(JSON.parse(message))).toBe(message);
        expect(message).not.toMatch(/[\n\r]/);
      }
    }
  });

  it("tells a node's own messages from its first bytes, and only its own", () => {
    const [mine] = encodeMessages('node-a', states);
    const [other] = encodeMessages('node-ab', states);
    const [quoted] = encodeMessages('a "b"', states);
    expect(isFrom(mine ?? '', 'node-a')).toBe(true);
    expect(isFrom(other ?? '', 'node-a')).toBe(false);
    expect(isFrom(mine ?? '', 'node-ab')).toBe(false);
    expect(isFrom(quoted ?? '', 'a "b"')).toBe(true);
    expect(isFrom(quoted ?? '', 'a ')).toBe(false);
  });

  it('encodes nothing for no states', () => {
    expect(encodeMessages('node-a', [])).toEqual([]);
  });

  it.each([
    'not json',
    '',
    'null',
    '42',
    '[1,2]',
    '{"o":1,"s":[]}',
    '{"o":"x"}',
    '{"o":"x","s":[null]}',
    '{"o":"x","s":[{"t":"t1","s":"paid","v":1}]}',
    '{"o":"x","s":[{"t":"t1","s":"settled","v":"1"}]}',
  ])('decodes %j as malformed', (text) => {
    expect(decodeMessage(text)).toBeUndefined();
  });
});
