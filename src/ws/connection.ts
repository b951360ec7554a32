import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import type { WebSocketLimits } from '../config/index.js';
import { errorFrame, type HubSocket } from '../hub/index.js';
import type { Metrics } from '../metrics/index.js';
import { CloseCode } from '../wire/index.js';

export type ConnectionMetrics = Pick<Metrics, 'messagesSent' | 'wsCloses'>;

type ConnectionPolicy = Pick<
  WebSocketLimits,
  'maxBufferedBytes' | 'maxClientFramesPerWindow' | 'clientFrameWindowMs'
>;

// Every frame the hub renders starts with its type (JSON.stringify keeps insertion order).
const STATUS_PREFIX = '{"type":"status"';
const SETTLEMENT_PREFIX = '{"type":"settlement"';
const ERROR_PREFIX = '{"type":"error"';

/**
 * One accepted socket as the hub sees it (send, close, bufferedAmount), plus what protects the
 * node from it:
 *
 * - backpressure: a send that finds more than `maxBufferedBytes` still queued for this socket
 *   drops the frame and closes with 1013; nothing more is queued, so one slow reader holds at
 *   most that much memory and never delays the others (sends never wait).
 * - read-only: client frames are ignored, but more than `maxClientFramesPerWindow` data or
 *   ping frames within `clientFrameWindowMs` close the socket with 1008.
 * - heartbeat: `heartbeat()` is called by the node's one sweep timer; a socket that has not
 *   answered the previous ping by the next sweep is terminated.
 *
 * The limits' counters (per IP, per transaction) are released in `onClosed`, which runs exactly
 * once, when the connection has ended, whoever ended it.
 */
export class Connection implements HubSocket {
  /** Counted against this address (released on close). */
  heldAddress: string | undefined;
  /** Counted against this transaction (released on close). */
  heldTransaction: string | undefined;
  /** The hub's registration (dropped on close). */
  unwatch: (() => void) | undefined;

  private alive = true;
  private terminated = false;
  /** The code this side closed with, reported by the closes metric instead of the peer's. */
  private closeCode: number | undefined;
  private framesInWindow = 0;
  private windowStartMs = 0;

  constructor(
    readonly ws: WebSocket,
    private readonly policy: ConnectionPolicy,
    private readonly metrics: ConnectionMetrics,
    logger: Logger,
    onClosed: (connection: Connection) => void,
  ) {
    ws.on('pong', () => {
      this.alive = true;
    });
    ws.on('message', this.onClientFrame);
    ws.on('ping', this.onClientFrame);
    ws.on('error', (error: Error & { code?: string }) => {
      this.closeCode ??= receiverCloseCode(error.code);
      logger.debug({ err: error }, 'websocket error');
    });
    ws.on('close', (code) => {
      metrics.wsCloses.inc({ code: String(this.closeCode ?? code) });
      onClosed(this);
    });
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  send(frame: string): void {
    const ws = this.ws;
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > this.policy.maxBufferedBytes) {
      // No error message: it would queue behind what the client is not reading.
      this.close(CloseCode.TryAgainLater, 'Reading too slowly');
      return;
    }
    ws.send(frame);
    const tally = this.metrics.messagesSent;
    if (frame.startsWith(STATUS_PREFIX)) tally.status++;
    else if (frame.startsWith(SETTLEMENT_PREFIX)) tally.settlement++;
    else if (frame.startsWith(ERROR_PREFIX)) tally.error++;
  }

  close(code: number, reason: string): void {
    const ws = this.ws;
    if (ws.readyState !== ws.OPEN) return;
    this.closeCode = code;
    ws.close(code, reason);
  }

  /** The `error` message, then the close. */
  reject(code: number, reason: string, message: string): void {
    this.send(errorFrame(message));
    this.close(code, reason);
  }

  /**
   * One heartbeat sweep: terminates the socket if the previous ping went unanswered (also one
   * stuck in a closing handshake since the last sweep), else pings it. False when terminated.
   */
  heartbeat(): boolean {
    if (this.terminated) return true;
    if (!this.alive) {
      this.terminated = true;
      this.closeCode ??= 1006;
      this.ws.terminate();
      return false;
    }
    this.alive = false;
    if (this.ws.readyState === this.ws.OPEN) this.ws.ping();
    return true;
  }

  private readonly onClientFrame = (): void => {
    const now = Date.now();
    if (now - this.windowStartMs >= this.policy.clientFrameWindowMs) {
      this.windowStartMs = now;
      this.framesInWindow = 0;
    }
    if (++this.framesInWindow > this.policy.maxClientFramesPerWindow) {
      this.reject(
        CloseCode.PolicyViolation,
        'Too many client frames',
        'Too many frames: this socket is read-only, send nothing',
      );
    }
  };
}

/** The close code ws sends itself when the client's frames break a rule (e.g. 1009 too big). */
function receiverCloseCode(code: string | undefined): number | undefined {
  if (code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') return CloseCode.MessageTooBig;
  if (code === 'WS_ERR_INVALID_UTF8') return 1007;
  return code?.startsWith('WS_ERR_') ? 1002 : undefined;
}
