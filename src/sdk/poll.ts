import type {
  SettlementMessage,
  StatusMessage,
  TransactionStatusResponse,
  TransitionRecord,
} from '../wire/index.js';
import { BadRequestError, NotFoundError } from './errors.js';
import type { FetchLike } from './types.js';

export type PolledMessage = StatusMessage | SettlementMessage;

/** One answer: the transitions after `since`, and where the transaction stands now. */
export interface PollResult {
  messages: PolledMessage[];
  status: TransactionStatusResponse['status'];
  version: number;
}

/**
 * One request to a status route (the service's, or the merchant's own given as `pollUrl`) with
 * `?since=`: its transitions, turned into the messages a socket would have pushed. Throws
 * NotFoundError / BadRequestError for answers that retrying cannot change, and a plain Error for
 * the rest (network, 429, 5xx).
 */
export async function pollOnce(
  fetchFn: FetchLike,
  request: { url: string; apiKey: string | undefined; since: number; signal: AbortSignal },
): Promise<PollResult> {
  const { url, apiKey, since, signal } = request;
  const headers: Record<string, string> = apiKey ? { authorization: `Bearer ${apiKey}` } : {};
  const separator = url.includes('?') ? '&' : '?';
  const response = await fetchFn(`${url}${separator}since=${since}`, { headers, signal });
  if (response.status === 200) {
    const body = (await response.json()) as TransactionStatusResponse;
    const messages = (body.transitions ?? []).map((transition) => toMessage(body, transition));
    return { messages, status: body.status, version: body.version };
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
