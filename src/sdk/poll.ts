import type {
  SettlementMessage,
  StatusMessage,
  TransactionStatusResponse,
  TransitionRecord,
} from '../wire/index.js';
import { BadRequestError, NotFoundError } from './errors.js';
import type { FetchLike } from './types.js';

export type PolledMessage = StatusMessage | SettlementMessage;

/**
 * One request to the REST status route with `?since=`: its transitions, turned into the
 * messages a socket would have pushed. Throws NotFoundError / BadRequestError for answers that
 * retrying cannot change, and a plain Error for the rest (network, 429, 5xx).
 */
export async function pollOnce(
  fetchFn: FetchLike,
  request: { baseUrl: string; apiKey: string; txId: string; since: number; signal: AbortSignal },
): Promise<PolledMessage[]> {
  const { baseUrl, apiKey, txId, since, signal } = request;
  const url = `${baseUrl}/api/identipay/v1/transactions/${encodeURIComponent(txId)}/status?since=${since}`;
  const response = await fetchFn(url, { headers: { authorization: `Bearer ${apiKey}` }, signal });
  if (response.status === 200) {
    const body = (await response.json()) as TransactionStatusResponse;
    return (body.transitions ?? []).map((transition) => toMessage(body, transition));
  }
  const text = await errorText(response);
  if (response.status === 404) throw new NotFoundError(text);
  if ([400, 401, 403].includes(response.status)) throw new BadRequestError(text);
  throw new Error(`status route answered ${response.status}: ${text}`);
}

function toMessage(body: TransactionStatusResponse, t: TransitionRecord): PolledMessage {
  const common = { transactionId: body.transactionId, version: t.version, pushedAt: t.at };
  if (t.event === 'settled' && t.suiTxDigest !== null) {
    // The checkpoint time is only known for the current settlement (settledAt).
    const checkpointTimestamp = t.version === body.version ? body.settledAt : null;
    return {
      ...common,
      type: 'settlement',
      status: 'settled',
      suiTxDigest: t.suiTxDigest,
      late: t.late,
      checkpointTimestamp,
    };
  }
  return { ...common, type: 'status', status: t.status, suiTxDigest: t.suiTxDigest };
}

async function errorText(response: { status: number; json(): Promise<unknown> }): Promise<string> {
  try {
    const body = (await response.json()) as { message?: unknown };
    return typeof body.message === 'string' ? body.message : `HTTP ${response.status}`;
  } catch {
    return `HTTP ${response.status}`;
  }
}
