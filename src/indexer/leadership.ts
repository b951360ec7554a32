import type { Logger } from 'pino';
import type postgres from 'postgres';

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
 * A session-level advisory lock held on a reserved connection. If that connection dies, the
 * server frees the lock and a standby takes over; the health check notices the loss here (a
 * reconnected session would not hold the lock any more) and aborts the lease.
 */
export function postgresLeadership(
  client: postgres.Sql,
  logger: Logger,
  options: { retryMs?: number; checkMs?: number } = {},
): Leadership {
  const retryMs = options.retryMs ?? 1000;
  const checkMs = options.checkMs ?? 2000;
  let connection: postgres.ReservedSql | undefined;
  let healthTimer: NodeJS.Timeout | undefined;

  const holdsLock = async (sql: postgres.ReservedSql) => {
    const [row] = await sql<{ held: boolean }[]>`
      select exists (
        select 1 from pg_locks
        where locktype = 'advisory' and classid = ${LOCK_CLASS} and objid = ${LOCK_ID}
          and objsubid = 2 and pid = pg_backend_pid() and granted
      ) as held`;
    return row?.held === true;
  };

  const dropConnection = () => {
    clearInterval(healthTimer);
    healthTimer = undefined;
    connection?.release();
    connection = undefined;
  };

  return {
    async acquire(stop) {
      while (!stop.aborted) {
        try {
          connection ??= await client.reserve();
          const [row] = await connection<{ locked: boolean }[]>`
            select pg_try_advisory_lock(${LOCK_CLASS}, ${LOCK_ID}) as locked`;
          if (row?.locked) {
            const lease = new AbortController();
            const held = connection;
            healthTimer = setInterval(() => {
              holdsLock(held)
                .catch(() => false)
                .then((ok) => {
                  if (ok || lease.signal.aborted) return;
                  logger.warn('indexer lock lost');
                  lease.abort(new Error('indexer lock lost'));
                  dropConnection();
                });
            }, checkMs);
            return lease.signal;
          }
        } catch (error) {
          logger.warn({ err: error }, 'indexer lock attempt failed');
          dropConnection();
        }
        await sleep(retryMs, stop);
      }
      return undefined;
    },

    async release() {
      const held = connection;
      if (!held) return;
      clearInterval(healthTimer);
      // unlock_all: the connection goes back to the pool and must not carry the lock with it.
      await held`select pg_advisory_unlock_all()`.catch(() => undefined);
      dropConnection();
    },
  };
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
