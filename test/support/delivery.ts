import postgres from 'postgres';
import type { ResumableSocket } from './resumable-socket.js';

/** One row of `status_events`: a transition and the state it produced. */
export interface HistoryRow {
  version: number;
  status: string;
  event: string;
  suiTxDigest: string | null;
  late: boolean;
}

const TERMINAL = new Set(['settled', 'expired', 'cancelled']);

/** The histories of the given transactions, oldest transition first, read from the database. */
export async function readHistories(
  databaseUrl: string,
  transactionIds: readonly string[],
): Promise<Map<string, HistoryRow[]>> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    const rows = await sql<(HistoryRow & { transactionId: string })[]>`
      select transaction_id as "transactionId", version, status, event,
             sui_tx_digest as "suiTxDigest", late
      from status_events
      where transaction_id in ${sql([...transactionIds])}
      order by transaction_id, version`;
    const histories = new Map<string, HistoryRow[]>(transactionIds.map((id) => [id, []]));
    for (const { transactionId, ...row } of rows) histories.get(transactionId)?.push(row);
    return histories;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/**
 * What is wrong with what one client saw, across all its connections, against the transaction's
 * history; empty when nothing is. The concatenated messages must be a gap-free, ordered,
 * duplicate-free run of the history ending with its final (terminal) state; every connection the
 * server ended after a terminal status ended with 1000; each message says what its row says.
 *
 * `fromVersion`: the version the first message must have (the client connected before it).
 */
export function deliveryProblems(
  socket: ResumableSocket,
  history: readonly HistoryRow[],
  options: { fromVersion?: number } = {},
): string[] {
  const problems: string[] = [];
  const say = (text: string) => problems.push(`${socket.label}: ${text}`);
  const final = history.at(-1);
  if (!final || !TERMINAL.has(final.status)) {
    say(`the transaction is not terminal (history ${describeHistory(history)})`);
    return problems;
  }
  let previous: number | undefined;
  for (const connection of socket.connections) {
    connection.messages.forEach((message, index) => {
      const version = message.version;
      const row = typeof version === 'number' ? history[version - 1] : undefined;
      if (!row || row.version !== version) {
        say(`unexpected message ${JSON.stringify(message)}`);
        return;
      }
      if (previous !== undefined && version !== previous + 1) {
        say(`version ${String(version)} after ${previous} (${sequence(socket)})`);
      }
      previous = version as number;
      // A plain connect's first message is the snapshot: a `status` even when settled.
      const snapshot = index === 0 && connection.since === undefined;
      const type = row.status === 'settled' && !snapshot ? 'settlement' : 'status';
      const expected = {
        type: snapshot && row.status === 'settled' ? message.type : type,
        transactionId: socket.transactionId,
        status: row.status,
        suiTxDigest: row.suiTxDigest,
        ...(row.status === 'settled' ? { late: row.late } : {}),
      };
      const actual = {
        type: message.type,
        transactionId: message.transactionId,
        status: message.status,
        suiTxDigest: message.suiTxDigest,
        ...(row.status === 'settled' ? { late: message.late } : {}),
      };
      if (JSON.stringify(actual) !== JSON.stringify(expected)) {
        say(
          `version ${row.version} is ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`,
        );
      }
    });
    if (connection.abandoned) continue;
    const last = connection.messages.at(-1);
    const lastStatus = last ? last.status : history[(connection.since ?? 0) - 1]?.status;
    // Another code (1006: its node was killed) is fine as long as a later connection resumed.
    if (connection.close === undefined) {
      say(`connection ${connection.url} is still open`);
    } else if (connection.close.code === 1000 && !TERMINAL.has(String(lastStatus))) {
      say(`connection ${connection.url} closed with 1000 after ${String(lastStatus)}`);
    }
  }
  const first = socket.messages[0]?.version;
  if (options.fromVersion !== undefined && first !== options.fromVersion) {
    say(`first version ${String(first)}, expected ${options.fromVersion} (${sequence(socket)})`);
  }
  if (previous !== final.version) {
    say(
      `ends at version ${String(previous)}, the final one is ${final.version} (${sequence(socket)})`,
    );
  }
  if (socket.current?.close?.code !== 1000) {
    say(`the last connection ended with ${JSON.stringify(socket.current?.close)}, not 1000`);
  }
  return problems;
}

/** `v1 pending, v2 cancelled | v3 settled`: versions per connection, for failure messages. */
export function sequence(socket: ResumableSocket): string {
  return socket.connections
    .map((connection) =>
      connection.messages
        .map((message) => `v${String(message.version)} ${String(message.status)}`)
        .join(', '),
    )
    .join(' | ');
}

function describeHistory(history: readonly HistoryRow[]): string {
  return history.map((row) => `v${row.version} ${row.status}`).join(', ');
}
