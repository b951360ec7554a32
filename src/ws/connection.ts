import type { Logger } from 'pino';
import { WebSocket } from 'ws';
import type { WebSocketLimits } from '../config/index.js';
import { errorFrame, type Frame, type HubSocket, type Watch } from '../hub/index.js';
import type { Metrics } from '../metrics/index.js';
import { CloseCode } from '../wire/index.js';
import type { DeferredCloses } from './closes.js';
import { encodeTextFrame } from './frames.js';

export type ConnectionMetrics = Pick<Metrics, 'messagesSent' | 'wsCloses'>;

type ConnectionPolicy = Pick<
  WebSocketLimits,
  'maxBufferedBytes' | 'maxClientFramesPerWindow' | 'clientFrameWindowMs'
>;

/** What every connection of one endpoint shares: one object, not one copy per socket. */
export interface ConnectionContext {
  policy: ConnectionPolicy;
  metrics: ConnectionMetrics;
  logger: Logger;
  /** Runs exactly once per connection, when it has ended, whoever ended it. */
  onClosed(connection: Connection): void;
  /** Where a close after a final frame waits for the burst to end. */
  closes: DeferredCloses;
}

/** ws keeps the TCP socket here; frames built once are written to it directly (see send). */
interface RawSocket {
  write(data: Uint8Array): boolean;
}

/** The upgraded socket while it holds the 101 response back. */
interface CorkedSocket {
  uncork(): void;
}

/**
 * One accepted socket: the ws WebSocket itself (ws builds it, `WebSocketServer({ WebSocket:
 * Connection })`), as the hub sees it (sendFrame, sendFinalFrame, closeWith), plus what
 * protects the node from it:
 *
 * - backpressure: a send that finds more than `maxBufferedBytes` still queued for this socket
 *   drops the frame and closes with 1013; nothing more is queued, so one slow reader holds at
 *   most that much memory and never delays the others (sends never wait).
 * - read-only: client frames are ignored, but more than `maxClientFramesPerWindow` data or
 *   ping frames within `clientFrameWindowMs` close the socket with 1008.
 * - heartbeat: `heartbeat()` is called by the node's one heartbeat timer, about once per
 *   interval; a socket that has not answered a ping by a visit at least half an interval later
 *   is terminated.
 *
 * There is one per open socket, so it is one object: no wrapper around the WebSocket, no
 * listener closures. Its own events (pong, message, ping, error, close) are handled in `emit`
 * rather than by listeners: a WebSocket with five listeners carries a property dictionary
 * about 100 bytes larger than one with two.
 */
export class Connection extends WebSocket implements HubSocket {
  /** Counted against this address (released on close). */
  heldAddress: string | undefined;
  /** The hub's registration (dropped on close); counted against its transaction meanwhile. */
  watch: Watch | undefined;

  private context: ConnectionContext | undefined;
  /**
   * The heartbeat tick at which the ping still unanswered was sent (0: none is). A small
   * integer, as cheap per socket as a boolean: no timestamp object.
   */
  private unansweredSince = 0;
  private terminated = false;
  /** The code this side closed with, reported by the closes metric instead of the peer's. */
  private closeCode: number | undefined;
  private framesInWindow = 0;
  private windowStartMs = 0;
  /** Corked since the upgrade: the 101 response goes out with the first frame (or the close). */
  private heldHandshake: CorkedSocket | undefined;

  /** Called once, right after the upgrade, before any event can arrive. */
  attach(context: ConnectionContext): void {
    this.context = context;
  }

  /**
   * Takes over the upgrade's cork: the 101 response, already written, leaves with whatever this
   * socket sends first (a snapshot read in a batch, an error, a close frame) in one write, not
   * as one packet of its own and then another. Whatever ends the socket first releases it.
   */
  holdHandshake(socket: CorkedSocket): void {
    this.heldHandshake = socket;
  }

  private releaseHandshake(): void {
    const socket = this.heldHandshake;
    if (!socket) return;
    this.heldHandshake = undefined;
    socket.uncork();
  }

  override emit(event: string | symbol, ...args: unknown[]): boolean {
    const context = this.context;
    if (!context) return super.emit(event, ...args);
    switch (event) {
      case 'pong':
        this.unansweredSince = 0;
        return true;
      case 'message':
      case 'ping':
        this.countClientFrame(context);
        return true;
      case 'error': {
        const error = args[0] as Error & { code?: string };
        this.closeCode ??= receiverCloseCode(error.code);
        context.logger.debug({ err: error }, 'websocket error');
        return true;
      }
      case 'close':
        this.releaseHandshake();
        context.metrics.wsCloses.inc({ code: String(this.closeCode ?? (args[0] as number)) });
        context.onClosed(this);
        return true;
      default:
        return super.emit(event, ...args);
    }
  }

  /**
   * Writes the frame's bytes, built once per frame for every socket it goes to (server frames
   * are not masked, so they are the same bytes for everyone), straight to the TCP socket: ws
   * only queues sends while compressing, which is off, so order with its own frames holds.
   */
  sendFrame(frame: Frame): void {
    if (this.readyState !== WebSocket.OPEN || !this.context) return this.releaseHandshake();
    if (this.bufferedAmount > this.context.policy.maxBufferedBytes) {
      // No error message: it would queue behind what the client is not reading.
      this.closeWith(CloseCode.TryAgainLater, 'Reading too slowly');
      return;
    }
    const socket = (this as unknown as { _socket: RawSocket | null })._socket;
    if (socket) socket.write((frame.encoded ??= encodeTextFrame(frame.text)));
    this.context.metrics.messagesSent[frame.type]++;
    this.releaseHandshake();
  }

  /** The last frame now, the close frame once the burst it belongs to is over. */
  sendFinalFrame(frame: Frame, code: number, reason: string): void {
    this.sendFrame(frame);
    if (this.context) this.context.closes.add(this, code, reason);
    else this.closeWith(code, reason);
  }

  closeWith(code: number, reason: string): void {
    if (this.readyState === WebSocket.OPEN) {
      this.closeCode = code;
      this.close(code, reason);
    }
    this.releaseHandshake();
  }

  /** The `error` message, then the close, at once (a connect refused by a limit). */
  reject(code: number, reason: string, message: string): void {
    this.sendFrame(errorFrame(message));
    this.closeWith(code, reason);
  }

  /**
   * One heartbeat visit at `tick` (the endpoint's tick count, from 1): terminates the socket if
   * a ping sent at least `patienceTicks` ago went unanswered (also one stuck in a closing
   * handshake since then), leaves a more recent one time to answer, else pings it. False when
   * terminated.
   */
  heartbeat(tick: number, patienceTicks: number): boolean {
    if (this.terminated) return true;
    if (this.unansweredSince !== 0) {
      if (tick - this.unansweredSince < patienceTicks) return true;
      this.terminated = true;
      this.closeCode ??= 1006;
      this.releaseHandshake();
      this.terminate();
      return false;
    }
    this.unansweredSince = tick;
    if (this.readyState === WebSocket.OPEN) this.ping();
    return true;
  }

  private countClientFrame(context: ConnectionContext): void {
    const now = Date.now();
    if (now - this.windowStartMs >= context.policy.clientFrameWindowMs) {
      this.windowStartMs = now;
      this.framesInWindow = 0;
    }
    if (++this.framesInWindow > context.policy.maxClientFramesPerWindow) {
      this.reject(
        CloseCode.PolicyViolation,
        'Too many client frames',
        'Too many frames: this socket is read-only, send nothing',
      );
    }
  }
}

/** The close code ws sends itself when the client's frames break a rule (e.g. 1009 too big). */
function receiverCloseCode(code: string | undefined): number | undefined {
  if (code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') return CloseCode.MessageTooBig;
  if (code === 'WS_ERR_INVALID_UTF8') return 1007;
  return code?.startsWith('WS_ERR_') ? 1002 : undefined;
}
