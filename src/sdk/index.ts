/**
 * identipay-status client SDK: watch one transaction until it is settled, expired or cancelled.
 * No server dependencies: it runs in browsers and Node (pass the `ws` package's WebSocket on
 * Node 20). Wire types come from the same module the server uses.
 */
import { Channel } from './channel.js';
import type {
  FetchLike,
  FinalEvent,
  WatchEvent,
  WatchOptions,
  WebSocketConstructor,
} from './types.js';
import { Watcher } from './watch.js';

export { BadRequestError, NotFoundError, WatchError } from './errors.js';
export type { BackoffOptions } from './backoff.js';
export type * from './types.js';
export type { SettlementMessage, StatusMessage, TransactionStatus } from '../wire/index.js';

export interface Watch extends AsyncIterable<WatchEvent> {
  /** Resolves with the final event (never rejects). */
  readonly done: Promise<FinalEvent>;
  /** Stops watching and closes the socket, like aborting `options.signal`. */
  close(): void;
}

/**
 * Watches a transaction. Events go to the callbacks in `options` and to the async iterator,
 * which ends after the final event and throws its error (NotFoundError, BadRequestError).
 */
export function watchTransaction(txId: string, options: WatchOptions): Watch {
  const transport = {
    WebSocket: options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket,
    fetch: options.fetch ?? (globalThis as { fetch?: FetchLike }).fetch,
  };
  if (!transport.WebSocket) throw new TypeError('no global WebSocket: pass options.WebSocket');
  if (!transport.fetch && (options.apiKey || options.pollUrl))
    throw new TypeError('no global fetch: pass options.fetch');
  const controller = new AbortController();
  const stop = () => controller.abort();
  if (options.signal?.aborted) stop();
  else options.signal?.addEventListener('abort', stop, { once: true });
  const channel = new Channel(options);
  const watcher = new Watcher(
    txId,
    options,
    { WebSocket: transport.WebSocket, fetch: transport.fetch ?? missingFetch },
    channel,
    controller.signal,
  );
  const done = watcher.run().finally(() => options.signal?.removeEventListener('abort', stop));
  return {
    done,
    close: stop,
    async *[Symbol.asyncIterator]() {
      try {
        yield* channel.events();
      } finally {
        stop(); // leaving a for-await loop early stops the watch
      }
    },
  };
}

const missingFetch: FetchLike = () => Promise.reject(new TypeError('no fetch available'));
