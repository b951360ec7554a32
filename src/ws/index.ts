import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { errorFrame, type Hub } from '../hub/index.js';
import { CloseCode, isTransactionId } from '../wire/index.js';

const WS_PATH = /^\/ws\/transactions\/([^/?#]*)$/;

/** Client frames carry nothing we read: anything larger than this is abuse (close 1009). */
export const MAX_CLIENT_FRAME_BYTES = 128;

export interface WebSocketDeps {
  server: Server;
  hub: Hub;
  logger: Logger;
}

export interface WebSocketEndpoint {
  /** Closes every socket with `code` and stops accepting upgrades. */
  close(code: number, reason: string): void;
}

/**
 * Read-only status sockets at /ws/transactions/:txId. Only that path upgrades; any other
 * upgrade request gets a plain HTTP 404 and never becomes a WebSocket.
 */
export function attachWebSocket({ server, hub, logger }: WebSocketDeps): WebSocketEndpoint {
  // Compression costs ~200 KB per socket for frames of ~150 bytes: not worth it.
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: MAX_CLIENT_FRAME_BYTES,
    clientTracking: false,
  });
  let accepting = true;

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const match = WS_PATH.exec(pathOf(request.url));
    if (!accepting || !match) {
      rejectUpgrade(socket, accepting ? 404 : 503, accepting ? 'Not Found' : 'Service Unavailable');
      return;
    }
    const rawId = decodeSafely(match[1] ?? '');
    wss.handleUpgrade(request, socket, head, (ws) => onConnection(ws, rawId));
  };

  const onConnection = (ws: WebSocket, rawId: string | undefined) => {
    ws.on('error', (error) => logger.debug({ err: error }, 'websocket error'));
    if (rawId === undefined || !isTransactionId(rawId)) {
      ws.send(errorFrame('Invalid transaction id: expected a UUID'));
      ws.close(CloseCode.BadRequest, 'Invalid transaction id');
      return;
    }
    const { unwatch } = hub.watch(rawId.toLowerCase(), ws);
    ws.on('close', unwatch);
  };

  server.on('upgrade', onUpgrade);
  return {
    close(code, reason) {
      accepting = false;
      hub.closeAll(code, reason);
    },
  };
}

function pathOf(url: string | undefined): string {
  const raw = url ?? '/';
  const end = raw.search(/[?#]/);
  return end === -1 ? raw : raw.slice(0, end);
}

function decodeSafely(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

function rejectUpgrade(socket: Duplex, status: number, text: string): void {
  const body = JSON.stringify({
    error: status === 404 ? 'not_found' : 'unavailable',
    message: text,
  });
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
