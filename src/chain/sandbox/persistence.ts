import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { fromBase58 } from '@mysten/sui/utils';
import { z } from 'zod';

/**
 * The sandbox chain's data file: append-only JSON lines, written synchronously before a
 * checkpoint becomes visible, so that a restarted chain never reuses a checkpoint number an
 * indexer has already seen.
 *
 * - `genesis`: the chain's identity, the Base58 digest of its genesis checkpoint, random and
 *   written once when the file is new (or predates identities). The first one read wins: a file
 *   keeps its chain, and a chain started without a file or with a new one is another chain.
 * - `checkpoint`: a checkpoint with its transactions.
 * - `reserve`: checkpoint numbers up to `upTo` may be published without another write. Empty
 *   checkpoints are not written one by one (four a second); a restart continues after the last
 *   reservation and the unused reserved numbers become empty checkpoints.
 */
const storedTransaction = z.object({
  digest: z.string(),
  intentHash: z.string(),
  merchant: z.string(),
  amount: z.string(),
  coinType: z.string(),
  buyer: z.string(),
  receiptId: z.string(),
  warrantyId: z.string().nullable(),
  gasMist: z.string(),
});

const record = z.discriminatedUnion('kind', [
  z.object({
    v: z.literal(1),
    kind: z.literal('genesis'),
    digest: z.string().refine(isDigest, 'a Base58 32-byte digest'),
  }),
  z.object({
    v: z.literal(1),
    kind: z.literal('checkpoint'),
    sequenceNumber: z.string(),
    timestampMs: z.number(),
    transactions: z.array(storedTransaction),
  }),
  z.object({
    v: z.literal(1),
    kind: z.literal('reserve'),
    at: z.string(),
    upTo: z.string(),
    timestampMs: z.number(),
  }),
]);

export type StoredTransaction = z.infer<typeof storedTransaction>;
export type LedgerRecord = z.infer<typeof record>;

export class LedgerFile {
  private constructor(
    private fd: number | undefined,
    readonly records: LedgerRecord[],
    /** Lines that could not be read (a write cut short by a crash leaves at most the last one). */
    readonly skippedLines: number,
  ) {}

  static open(file: string): LedgerFile {
    mkdirSync(path.dirname(file), { recursive: true });
    const records: LedgerRecord[] = [];
    let skipped = 0;
    if (existsSync(file)) {
      for (const line of readFileSync(file, 'utf8').split('\n')) {
        if (line.trim() === '') continue;
        const parsed = safeJson(line);
        const result = record.safeParse(parsed);
        if (result.success) records.push(result.data);
        else skipped++;
      }
    }
    const fd = openSync(file, 'a');
    // A crash can leave a half line without its newline: start the next record on a fresh line.
    if (skipped > 0) writeSync(fd, '\n');
    return new LedgerFile(fd, records, skipped);
  }

  append(entry: LedgerRecord): void {
    if (this.fd === undefined) throw new Error('sandbox chain data file is closed');
    writeSync(this.fd, `${JSON.stringify(entry)}\n`);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

function safeJson(line: string): unknown {
  try {
    return JSON.parse(line) as unknown;
  } catch {
    return undefined;
  }
}

function isDigest(value: string): boolean {
  try {
    return fromBase58(value).length === 32;
  } catch {
    return false;
  }
}
