import type { Logger } from 'pino';
import postgres from 'postgres';

/**
 * One active indexer per database. `acquire` resolves once this node holds the role, with a
 * signal that aborts if the role is lost; undefined if `stop` aborted first.
 */
export interface Leadership {
  acquire(stop: AbortSignal): Promise<AbortSignal | undefined>;
  release(): Promise<void>;
}

/** The embedded database serves one process, which is therefore always the indexer. */
export function soleLeadership(): Leadership {
  return {
    async acquire(stop) {
      return stop.aborted ? undefined : new AbortController().signal;
    },
    async release() {},
  };
}

// Two int4 keys, so that pg_locks can tell whether this session still holds the lock.
const LOCK_CLASS = 0x1d5a;
const LOCK_ID = 0x5e771e;

/**
 * A session-level advisory lock held by a dedicated one-connection client, kept apart from the
 * query pool so that losing it cannot disturb anything else. If that session dies, the server
 * frees the lock and a standby takes over; the health check notices the loss here (a reconnected
 * session does not hold the lock) and aborts the lease.
 */
export function postgresLeadership(
  url: string,
  logger: Logger,
  options: { retryMs?: number; checkMs?: number } = {},
): Leadership {
  const retryMs = options.retryMs ?? 1000;
  const checkMs = options.checkMs ?? 2000;
  let session: postgres.Sql | undefined;
  let healthTimer: NodeJS.Timeout | undefined;

  const open = () =>
    postgres(url, {
      max: 1,
      onnotice: () => {},
      connect_timeout: Math.ceil(checkMs / 1000) + 1,
      connection: { application_name: 'identipay-status indexer lock' },
    });

  const holdsLock = async (sql: postgres.Sql) => {
    const [row] = await withTimeout(
      sql<{ held: boolean }[]>`
        select exists (
          select 1 from pg_locks
          where locktype = 'advisory' and classid = ${LOCK_CLASS} and objid = ${LOCK_ID}
            and objsubid = 2 and pid = pg_backend_pid() and granted
        ) as held`,
      checkMs,
    );
    return row?.held === true;
  };

  /** Ending the session frees the lock on the server, also when it is already gone. */
  const closeSession = async () => {
    clearInterval(healthTimer);
    healthTimer = undefined;
    const closing = session;
    session = undefined;
    await closing?.end({ timeout: 1 }).catch(() => undefined);
  };

  return {
    async acquire(stop) {
      while (!stop.aborted) {
        try {
          session ??= open();
          const sql = session;
          const [row] = await withTimeout(
            sql<
              { locked: boolean }[]
            >`select pg_try_advisory_lock(${LOCK_CLASS}, ${LOCK_ID}) as locked`,
            checkMs,
          );
          if (row?.locked) {
            const lease = new AbortController();
            healthTimer = setInterval(() => {
              holdsLock(sql)
                .catch(() => false)
                .then((held) => {
                  if (held || lease.signal.aborted) return;
                  logger.warn('indexer lock lost');
                  lease.abort(new Error('indexer lock lost'));
                  void closeSession();
                });
            }, checkMs);
            return lease.signal;
          }
        } catch (error) {
          logger.warn({ err: error }, 'indexer lock attempt failed');
          await closeSession();
        }
        await sleep(retryMs, stop);
      }
      return undefined;
    },

    release: closeSession,
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
