import type { Logger } from 'pino';
import type { Bus, InTransactionNotice } from '../bus/index.js';
import type { ChainSource, CheckpointBatch, SettlementEvent } from '../chain/types.js';
import { NotifyOnCommitError, type AppliedBatch, type Store } from '../store/index.js';
import { sleep, type Leadership } from './leadership.js';
import { verifySettlement } from './verify.js';

export { postgresLeadership, soleLeadership, type Leadership } from './leadership.js';
export { verifySettlement } from './verify.js';

/**
 * Cursors are kept per chain: a checkpoint number means nothing on another chain (a sandbox
 * chain started afresh, an endpoint moved to another network), so a new chain starts at its tip.
 */
export function settlementCursorName(chainIdentifier: string): string {
  return `settlement:${chainIdentifier}`;
}

export interface IndexerStatus {
  role: 'starting' | 'leader' | 'standby' | 'stopped';
  /** Last checkpoint fully processed (by this node, or read from the cursor). */
  checkpoint: bigint | undefined;
  checkpointTimestamp: Date | undefined;
  /** The chain's latest checkpoint as last reported by the source. */
  tipCheckpoint: bigint | undefined;
  chainIdentifier: string | undefined;
  /** Wall clock of the last batch applied, or of taking the role (readiness: stalled?). */
  progressAt: Date | undefined;
  settlementsApplied: number;
  anomaliesRecorded: number;
}

export interface IndexerDeps {
  store: Store;
  source: ChainSource;
  bus: Bus;
  leadership: Leadership;
  logger: Logger;
  now?: () => Date;
  /** Called after each committed batch (metrics, tests). */
  onBatch?(batch: CheckpointBatch, applied: AppliedBatch): void;
}

export interface Indexer {
  status(): IndexerStatus;
  /** Finishes the batch in progress, releases the role, resolves when idle. */
  stop(): Promise<void>;
}

const MIN_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 30_000;
/** Settlements per `settled` log line: about 12 KB, under the 16 KB at which Docker splits a line. */
const SETTLED_PER_LINE = 100;
/**
 * A range of checkpoints without events only moves the cursor. Saved each time, that was a
 * transaction per poll at rest (four a second), most of an idle node's database work; it is
 * saved at most this often. A restart reads the few empty checkpoints since again, and the
 * nodes that read the cursor (their freshness fields) see it at most this much later.
 */
const EMPTY_RANGE_SAVE_INTERVAL_MS = 1000;

/**
 * Follows the chain source from the saved cursor and applies each batch in one DB transaction;
 * the transitions it commits are published with the commit (a bus that can) or after it. Runs
 * only while holding the role.
 */
export function startIndexer(deps: IndexerDeps): Indexer {
  const now = deps.now ?? (() => new Date());
  const stopping = new AbortController();
  const status: IndexerStatus = {
    role: 'starting',
    checkpoint: undefined,
    checkpointTimestamp: undefined,
    tipCheckpoint: undefined,
    chainIdentifier: undefined,
    progressAt: undefined,
    settlementsApplied: 0,
    anomaliesRecorded: 0,
  };

  let cursorSavedAt = Number.NEGATIVE_INFINITY;
  const progressed = (batch: CheckpointBatch) => {
    status.checkpoint = batch.checkpoint;
    status.checkpointTimestamp = batch.checkpointTimestamp;
    status.tipCheckpoint = batch.tipCheckpoint ?? batch.checkpoint;
    status.progressAt = now();
  };

  const apply = async (batch: CheckpointBatch, cursorName: string): Promise<void> => {
    if (
      batch.events.length === 0 &&
      performance.now() - cursorSavedAt < EMPTY_RANGE_SAVE_INTERVAL_MS
    ) {
      return progressed(batch);
    }
    const events = uniqueEvents(batch.events);
    const terms = await deps.store.settlements.termsByIntentHashes([
      ...new Set(events.map((event) => event.intentHash)),
    ]);
    const decisions = events.map((event) => verifySettlement(event, terms.get(event.intentHash)));
    const applyBatch = (notify: InTransactionNotice | undefined) =>
      deps.store.settlements.applyBatch({
        cursorName,
        checkpoint: batch.checkpoint,
        checkpointTimestamp: batch.checkpointTimestamp,
        decisions,
        now: now(),
        notify,
      });
    // The other nodes hear of the batch at its commit when the bus can (see InTransactionNotice).
    let notice = deps.bus.inTransaction;
    let applied: AppliedBatch;
    try {
      applied = await applyBatch(notice);
    } catch (error) {
      if (!(error instanceof NotifyOnCommitError)) throw error;
      // Rolled back with it: the batch again, told after the commit as every other producer does.
      deps.logger.warn({ err: error }, 'notification in the batch failed; publishing after commit');
      notice = undefined;
      applied = await applyBatch(undefined);
    }
    cursorSavedAt = performance.now();
    progressed(batch);
    status.settlementsApplied += applied.settled.length;
    status.anomaliesRecorded += applied.anomalies.length;
    for (const anomaly of applied.anomalies) {
      deps.logger.warn(
        {
          reason: anomaly.reason,
          transactionId: anomaly.transactionId,
          txDigest: anomaly.txDigest,
          eventIndex: anomaly.eventIndex,
          detail: anomaly.detail,
        },
        'settlement anomaly',
      );
    }
    if (applied.settled.length > 0) {
      // One line between the commit and the publish: a line per settlement here (a synchronous
      // write each) held a burst of 1,000 back from the sockets by 10-35 ms.
      deps.logger.info(
        {
          checkpoint: batch.checkpoint.toString(),
          checkpointTimestamp: batch.checkpointTimestamp.toISOString(),
          settled: applied.settled.length,
          commitMs: Math.round(applied.commitMs * 10) / 10,
        },
        'settlements committed',
      );
    }
    try {
      if (notice) notice.committed(applied.settled);
      else await deps.bus.publish(applied.settled);
    } finally {
      // Committed either way: each settlement is logged even when the publish failed, a line per
      // SETTLED_PER_LINE of them (the CPU of a line each, 6.5 ms per 1,000 here against 1.7,
      // fell in the middle of the other nodes' fan-out).
      for (let start = 0; start < applied.settled.length; start += SETTLED_PER_LINE) {
        const settlements = applied.settled.slice(start, start + SETTLED_PER_LINE).map((state) => ({
          transactionId: state.transactionId,
          txDigest: state.suiTxDigest,
          late: state.late,
        }));
        deps.logger.info({ settlements }, 'settled');
      }
    }
    deps.onBatch?.(batch, applied);
  };

  const follow = async (signal: AbortSignal): Promise<void> => {
    const chainIdentifier = await deps.source.chainIdentifier(signal);
    const cursorName = settlementCursorName(chainIdentifier);
    const cursor = await deps.store.settlements.cursor(cursorName);
    status.chainIdentifier = chainIdentifier;
    status.checkpoint = cursor?.checkpoint;
    status.checkpointTimestamp = cursor?.timestamp ?? undefined;
    deps.logger.info(
      { chainIdentifier, after: cursor?.checkpoint?.toString() ?? 'tip' },
      'indexer following',
    );
    for await (const batch of deps.source.batches(cursor?.checkpoint, signal)) {
      await apply(batch, cursorName);
      if (signal.aborted) return;
    }
  };

  const run = async (): Promise<void> => {
    let failures = 0;
    while (!stopping.signal.aborted) {
      status.role = 'standby';
      const lease = await deps.leadership.acquire(stopping.signal);
      if (!lease) break;
      status.role = 'leader';
      status.progressAt = now();
      deps.logger.info('indexer role acquired');
      const signal = AbortSignal.any([stopping.signal, lease]);
      try {
        await follow(signal);
        failures = 0;
      } catch (error) {
        if (!signal.aborted) {
          failures++;
          deps.logger.error({ err: error, failures }, 'indexer failed; retrying');
        }
      }
      // Lost the role, the source ended or failed: give the role up before trying again.
      await deps.leadership.release();
      if (failures > 0) await sleep(backoff(failures), stopping.signal);
    }
  };

  const running = run().finally(async () => {
    status.role = 'stopped';
    await deps.leadership.release();
  });

  return {
    status: () => ({ ...status }),
    async stop() {
      stopping.abort();
      await running;
    },
  };
}

/** A source may repeat an event (reconnects); within a batch, keep the first copy. */
function uniqueEvents(events: SettlementEvent[]): SettlementEvent[] {
  const seen = new Set<string>();
  return events.filter((event) => {
    const key = `${event.txDigest}:${event.eventIndex}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Capped exponential backoff with full jitter. */
function backoff(failures: number): number {
  const cap = Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** Math.min(failures, 16));
  return Math.floor(Math.random() * cap);
}
