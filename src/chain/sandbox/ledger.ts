import { randomBytes } from 'node:crypto';
import { fromBase58, toBase58 } from '@mysten/sui/utils';
import type { Logger } from 'pino';
import { chainIdentifierOfGenesis } from '../chain-identifier.js';
import { encodeSettlementEvent, type RawBalanceChange } from '../settlement-event.js';
import { normaliseCoinType } from '../../sui/coin-type.js';
import type { LedgerFile, LedgerRecord, StoredTransaction } from './persistence.js';
import {
  IntentAlreadySettledError,
  normalisePayment,
  type NormalisedPayment,
  type PaymentReceipt,
  type SandboxPayment,
} from './payment.js';

const SUI = normaliseCoinType('0x2::sui::SUI');
/** What every sandbox settlement pays for gas, in MIST: makes the buyer's SUI change realistic. */
const GAS_MIST = 2_000_000n;
/** Checkpoint numbers reserved per write while idle (10 s at the default cadence). */
const RESERVE = 40n;

export interface LedgerTransaction {
  /** Position in the chain's total order of transactions. */
  sequence: number;
  digest: string;
  checkpoint: bigint;
  sender: string;
  eventBcs: Uint8Array;
  balanceChanges: RawBalanceChange[];
}

interface Pending {
  stored: StoredTransaction;
  resolve: (receipt: PaymentReceipt) => void;
  reject: (error: Error) => void;
}

interface Mark {
  sequence: bigint;
  timestampMs: number;
}

export interface LedgerOptions {
  now: () => Date;
  logger: Logger;
  file: LedgerFile | undefined;
}

/**
 * The sandbox chain's state: checkpoints in order, each with the settlement transactions it
 * finalised. Timestamps come from the ledger's clock. Only checkpoints with transactions and
 * reservations keep an exact timestamp; an empty checkpoint in between reports the timestamp of
 * the last recorded one before it (monotonic, like Sui's, which may repeat).
 */
export class SandboxLedger {
  /** Base58 digest of checkpoint 0: what the chain is, kept in the data file. */
  readonly genesisDigest: string;
  /** Sui's chain identifier: the first four bytes of `genesisDigest`, hex. */
  readonly chainIdentifier: string;
  readonly transactions: LedgerTransaction[] = [];
  private readonly byDigest = new Map<string, LedgerTransaction>();
  private readonly executedIntents = new Set<string>();
  private readonly marks: Mark[] = [];
  private pending: Pending[] = [];
  private latest: Mark;
  private reservedUpTo = -1n;
  private stopped = false;

  constructor(private readonly options: LedgerOptions) {
    const records = options.file?.records ?? [];
    let genesis: string | undefined;
    for (const entry of records) {
      if (entry.kind === 'genesis') genesis ??= entry.digest;
      else this.replay(entry);
    }
    if (genesis === undefined) {
      // A new chain, or a data file from before chains had an identity: either way a new one.
      genesis = toBase58(randomBytes(32));
      options.file?.append({ v: 1, kind: 'genesis', digest: genesis });
    }
    this.genesisDigest = genesis;
    this.chainIdentifier = chainIdentifierOfGenesis(fromBase58(genesis));
    const last = this.marks.at(-1);
    if (last) {
      this.latest = { sequence: this.reservedUpTo, timestampMs: last.timestampMs };
    } else {
      // Genesis: an empty checkpoint 0 at start.
      this.latest = { sequence: -1n, timestampMs: options.now().getTime() };
      this.makeCheckpoint();
    }
  }

  latestCheckpoint(): bigint {
    return this.latest.sequence;
  }

  /** Milliseconds since the epoch, or undefined for a checkpoint that does not exist yet. */
  timestampOf(sequence: bigint): number | undefined {
    if (sequence < 0n || sequence > this.latest.sequence) return undefined;
    if (sequence === this.latest.sequence) return this.latest.timestampMs;
    let low = 0;
    let high = this.marks.length - 1;
    while (low < high) {
      const middle = Math.ceil((low + high) / 2);
      const mark = this.marks[middle];
      if (mark && mark.sequence <= sequence) low = middle;
      else high = middle - 1;
    }
    return this.marks[low]?.timestampMs ?? this.latest.timestampMs;
  }

  transaction(digest: string): LedgerTransaction | undefined {
    return this.byDigest.get(digest);
  }

  /** Accepts the payment now; resolves once a checkpoint has finalised it. */
  async submit(payment: SandboxPayment): Promise<PaymentReceipt> {
    const [receipt] = await this.submitAll([payment]);
    return receipt as PaymentReceipt;
  }

  /**
   * Accepts every payment now or none (a bad one, or an intent settled before or twice in the
   * list, refuses them all); resolves once the checkpoint that finalised them all is made.
   */
  submitAll(payments: readonly SandboxPayment[]): Promise<PaymentReceipt[]> {
    if (this.stopped) return Promise.reject(new Error('The sandbox chain is stopped'));
    let normalised: NormalisedPayment[];
    try {
      normalised = payments.map((payment) => normalisePayment(payment));
    } catch (error) {
      return Promise.reject(error as Error);
    }
    const intents = new Set<string>();
    for (const { intentHash } of normalised) {
      if (this.executedIntents.has(intentHash) || intents.has(intentHash)) {
        return Promise.reject(new IntentAlreadySettledError(intentHash));
      }
      intents.add(intentHash);
    }
    return Promise.all(normalised.map((payment) => this.accept(payment)));
  }

  private accept(payment: NormalisedPayment): Promise<PaymentReceipt> {
    this.executedIntents.add(payment.intentHash);
    const stored: StoredTransaction = {
      digest: toBase58(randomBytes(32)),
      intentHash: payment.intentHash,
      merchant: payment.merchant,
      amount: payment.amount.toString(),
      coinType: payment.coinType,
      buyer: payment.buyerStealthAddress ?? randomAddress(),
      receiptId: randomAddress(),
      warrantyId: null,
      gasMist: GAS_MIST.toString(),
    };
    return new Promise((resolve, reject) => this.pending.push({ stored, resolve, reject }));
  }

  /** Finalises the next checkpoint with every pending transaction (none is fine). */
  makeCheckpoint(): void {
    if (this.stopped) return;
    const sequence = this.latest.sequence + 1n;
    const timestampMs = Math.max(this.options.now().getTime(), this.latest.timestampMs);
    const batch = this.pending;
    this.pending = [];
    try {
      this.persist(sequence, timestampMs, batch);
    } catch (error) {
      this.options.logger.error({ err: error }, 'sandbox chain could not write its data file');
      for (const entry of batch) {
        this.executedIntents.delete(entry.stored.intentHash);
        entry.reject(new Error('The sandbox chain could not record the transaction'));
      }
      return;
    }
    if (batch.length > 0) this.marks.push({ sequence, timestampMs });
    for (const entry of batch) this.include(entry.stored, sequence);
    this.latest = { sequence, timestampMs };
    for (const entry of batch)
      entry.resolve({ txDigest: entry.stored.digest, checkpoint: sequence });
    if (batch.length > 0) {
      this.options.logger.debug(
        { checkpoint: sequence.toString(), transactions: batch.length },
        'sandbox checkpoint',
      );
    }
  }

  stop(): void {
    this.stopped = true;
    for (const entry of this.pending) entry.reject(new Error('The sandbox chain stopped'));
    this.pending = [];
  }

  private persist(sequence: bigint, timestampMs: number, batch: Pending[]): void {
    const file = this.options.file;
    if (batch.length > 0) {
      file?.append({
        v: 1,
        kind: 'checkpoint',
        sequenceNumber: sequence.toString(),
        timestampMs,
        transactions: batch.map((entry) => entry.stored),
      });
    }
    if (sequence > this.reservedUpTo) {
      const upTo = sequence + RESERVE - 1n;
      file?.append({
        v: 1,
        kind: 'reserve',
        at: sequence.toString(),
        upTo: upTo.toString(),
        timestampMs,
      });
      this.reservedUpTo = upTo;
      if (batch.length === 0) this.marks.push({ sequence, timestampMs });
    }
  }

  private replay(entry: Exclude<LedgerRecord, { kind: 'genesis' }>): void {
    if (entry.kind === 'reserve') {
      const upTo = BigInt(entry.upTo);
      if (upTo > this.reservedUpTo) this.reservedUpTo = upTo;
      this.marks.push({ sequence: BigInt(entry.at), timestampMs: entry.timestampMs });
      return;
    }
    const sequence = BigInt(entry.sequenceNumber);
    if (sequence > this.reservedUpTo) this.reservedUpTo = sequence;
    this.marks.push({ sequence, timestampMs: entry.timestampMs });
    for (const stored of entry.transactions) {
      this.executedIntents.add(stored.intentHash);
      this.include(stored, sequence);
    }
  }

  private include(stored: StoredTransaction, checkpoint: bigint): void {
    const amount = BigInt(stored.amount);
    const gas = BigInt(stored.gasMist);
    const buyerChanges: RawBalanceChange[] =
      stored.coinType === SUI
        ? [{ owner: stored.buyer, coinType: SUI, amount: -(amount + gas) }]
        : [
            { owner: stored.buyer, coinType: stored.coinType, amount: -amount },
            { owner: stored.buyer, coinType: SUI, amount: -gas },
          ];
    const transaction: LedgerTransaction = {
      sequence: this.transactions.length,
      digest: stored.digest,
      checkpoint,
      sender: stored.buyer,
      eventBcs: encodeSettlementEvent({
        intentHash: stored.intentHash,
        merchant: stored.merchant,
        amount,
        receiptId: stored.receiptId,
        warrantyId: stored.warrantyId,
        buyerStealthAddress: stored.buyer,
      }),
      balanceChanges: [
        ...buyerChanges,
        { owner: stored.merchant, coinType: stored.coinType, amount },
      ],
    };
    this.transactions.push(transaction);
    this.byDigest.set(transaction.digest, transaction);
  }
}

function randomAddress(): string {
  return `0x${randomBytes(32).toString('hex')}`;
}
