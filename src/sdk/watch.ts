/**
 * The watch loop. One transaction, one loop, two transports:
 *
 *   start ──► websocket ──terminal──► final(terminal)
 *               │  ▲  └──4404/4400──► final(not_found | bad_request)
 *   failed/closed  │ opened: backoff and failure count reset
 *               ▼  │
 *            backoff sleep (full jitter)
 *               │ N failures in a row, and an apiKey or a pollUrl
 *               ▼
 *            polling REST ?since= ──every wsRetryIntervalMs──► try websocket once
 *
 * Every message passes one version gate (`accept`), so a resume with `?since=` or a switch of
 * transport never delivers a transition twice.
 */
import { isTerminalStatus, type TransactionStatus } from '../wire/index.js';
import { createBackoff, type Backoff } from './backoff.js';
import { Channel } from './channel.js';
import { NotFoundError, WatchError } from './errors.js';
import { pollOnce, type PolledMessage } from './poll.js';
import { asError, runSocket } from './socket.js';
import type { FetchLike, FinalEvent, WatchOptions, WebSocketConstructor } from './types.js';

export class Watcher {
  private lastVersion: number | undefined;
  private lastStatus: TransactionStatus | null = null;
  private readonly backoff: Backoff;

  constructor(
    private readonly txId: string,
    private readonly options: WatchOptions,
    private readonly transport: { WebSocket: WebSocketConstructor; fetch: FetchLike },
    private readonly channel: Channel,
    private readonly signal: AbortSignal,
  ) {
    this.backoff = createBackoff(options.backoff);
    this.lastVersion = options.since;
  }

  async run(): Promise<FinalEvent> {
    const { fallbackAfterFailures = 3, wsRetryIntervalMs = 30_000 } = this.options;
    const canPoll = this.options.apiKey !== undefined || this.options.pollUrl !== undefined;
    let failures = 0;
    for (;;) {
      if (canPoll && failures >= fallbackAfterFailures) {
        const end = await this.pollFor(wsRetryIntervalMs);
        if (end) return end;
      }
      if (this.signal.aborted) return this.finish('aborted');
      const outcome = await runSocket(this.transport.WebSocket, this.wsUrl(), this.signal, (m) =>
        this.accept(m, 'websocket'),
      );
      if (this.signal.aborted) return this.finish('aborted');
      if (outcome.kind === 'terminal') return this.finish('terminal');
      if (outcome.kind === 'fatal') return this.fail(outcome.error);
      this.channel.emit({ type: 'error', error: outcome.error });
      if (outcome.opened) this.backoff.reset();
      failures = outcome.opened ? 0 : failures + 1;
      if (canPoll && failures >= fallbackAfterFailures) continue;
      await sleep(this.backoff.next(), this.signal);
    }
  }

  /** Polls until `durationMs` have passed; returns the final event if the watch ended. */
  private async pollFor(durationMs: number): Promise<FinalEvent | undefined> {
    const { pollIntervalMs = 2_000, apiKey } = this.options;
    const fetchFn = this.transport.fetch;
    const url = this.statusUrl();
    for (let waited = 0; waited < durationMs;) {
      if (this.signal.aborted) return this.finish('aborted');
      let delay = pollIntervalMs;
      try {
        const request = { url, apiKey, signal: this.signal, since: this.lastVersion ?? 0 };
        const polled = await pollOnce(fetchFn, request);
        for (const message of polled.messages) this.accept(message, 'polling');
        // Resumed at the final version already (`since`): no transition arrives, the status tells.
        if (isTerminalStatus(polled.status) && (this.lastVersion ?? 0) >= polled.version) {
          this.lastStatus = polled.status;
          return this.finish('terminal');
        }
      } catch (error) {
        if (this.signal.aborted) return this.finish('aborted');
        if (error instanceof WatchError) return this.fail(error);
        this.channel.emit({ type: 'error', error: asError(error) });
        delay = Math.max(delay, this.backoff.next());
      }
      await sleep(delay, this.signal);
      waited += delay;
    }
    return undefined;
  }

  /** The version gate: true when the message is new and was emitted. */
  private accept(message: PolledMessage, via: 'websocket' | 'polling'): boolean {
    if (this.lastVersion !== undefined && message.version <= this.lastVersion) return false;
    this.lastVersion = message.version;
    this.lastStatus = message.status;
    if (message.type === 'settlement') this.channel.emit({ type: 'settlement', message, via });
    else this.channel.emit({ type: 'status', message, via });
    return true;
  }

  private finish(reason: 'terminal' | 'aborted'): FinalEvent {
    const event: FinalEvent = { type: 'final', status: this.lastStatus, reason };
    this.channel.emit(event);
    return event;
  }

  private fail(error: Error): FinalEvent {
    const reason = error instanceof NotFoundError ? 'not_found' : 'bad_request';
    const event: FinalEvent = { type: 'final', status: this.lastStatus, reason, error };
    this.channel.emit(event);
    return event;
  }

  /** The merchant's own route when given (no key in browsers), else the service's. */
  private statusUrl(): string {
    const { pollUrl, baseUrl } = this.options;
    if (pollUrl) return pollUrl(this.txId);
    return `${trim(baseUrl)}/api/identipay/v1/transactions/${encodeURIComponent(this.txId)}/status`;
  }

  private wsUrl(): string {
    const base = trim(this.options.baseUrl).replace(/^http/, 'ws');
    const since = this.lastVersion === undefined ? '' : `?since=${this.lastVersion}`;
    return `${base}/ws/transactions/${encodeURIComponent(this.txId)}${since}`;
  }
}

function trim(url: string): string {
  return url.replace(/\/+$/, '');
}

/** Resolves after `ms`, or at once when the signal aborts (the loop then checks it). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
