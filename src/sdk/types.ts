import type { SettlementMessage, StatusMessage, TransactionStatus } from '../wire/index.js';
import type { BackoffOptions } from './backoff.js';

/** The few members the SDK uses: met by browsers' WebSocket, Node 22's and the `ws` package's. */
export interface WebSocketLike {
  close(code?: number, reason?: string): void;
  addEventListener(
    type: 'open' | 'message' | 'close' | 'error',
    listener: (event: unknown) => void,
  ): void;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;
export type FetchLike = (
  url: string,
  init: { headers: Record<string, string>; signal?: AbortSignal },
) => Promise<{
  status: number;
  json(): Promise<unknown>;
}>;

export interface StatusEvent {
  type: 'status';
  message: StatusMessage;
  via: 'websocket' | 'polling';
}
export interface SettlementEvent {
  type: 'settlement';
  message: SettlementMessage;
  via: 'websocket' | 'polling';
}
/** A failure the watch recovers from (it retries); fatal ones end in a final event instead. */
export interface ErrorEvent {
  type: 'error';
  error: Error;
}
/** The last event: a terminal status, or why the watch stopped without one. */
export interface FinalEvent {
  type: 'final';
  status: TransactionStatus | null;
  reason: 'terminal' | 'aborted' | 'not_found' | 'bad_request';
  error?: Error;
}
export type WatchEvent = StatusEvent | SettlementEvent | ErrorEvent | FinalEvent;

export interface WatchOptions {
  /** The service's origin, e.g. `https://status.example.com`. */
  baseUrl: string;
  /** Merchant API key: enables the REST polling fallback. Server-side only, never in a browser. */
  apiKey?: string;
  /**
   * Enables the polling fallback without a key (browsers): the URL of a route on the merchant's
   * own backend that answers like `GET /api/identipay/v1/transactions/:txId/status` for its own
   * transactions, e.g. `(id) => '/shop/payments/' + id + '/status'`. `since=N` is appended to
   * its query. The API key, if also given, is sent to it as a bearer token.
   */
  pollUrl?: (txId: string) => string;
  signal?: AbortSignal;
  /**
   * Resume: the last version the caller already has; only later transitions are delivered. If
   * that is already the final version of a terminal transaction, the watch ends at once with
   * `final` `{reason: 'terminal', status: null}` (the caller knows the status).
   */
  since?: number;
  /** Defaults to the global WebSocket; pass the `ws` package's on Node 20. */
  WebSocket?: WebSocketConstructor;
  fetch?: FetchLike;
  backoff?: BackoffOptions;
  /** Consecutive WebSocket failures before polling (needs apiKey or pollUrl). Default 3. */
  fallbackAfterFailures?: number;
  pollIntervalMs?: number;
  /** While polling, how often to try the WebSocket again. Default 30 s. */
  wsRetryIntervalMs?: number;
  onEvent?: (event: WatchEvent) => void;
  onStatus?: (event: StatusEvent) => void;
  onSettlement?: (event: SettlementEvent) => void;
  onError?: (event: ErrorEvent) => void;
  onFinal?: (event: FinalEvent) => void;
}
