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
    const { path, query } = splitUrl(request.url);
    const match = WS_PATH.exec(path);
    if (!accepting || !match) {
      rejectUpgrade(socket, accepting ? 404 : 503, accepting ? 'Not Found' : 'Service Unavailable');
      return;
    }
    const rawId = decodeSafely(match[1] ?? '');
    const since = query.get('since');
    wss.handleUpgrade(request, socket, head, (ws) => onConnection(ws, rawId, since));
  };

  const onConnection = (ws: WebSocket, rawId: string | undefined, rawSince: string | null) => {
    ws.on('error', (error) => logger.debug({ err: error }, 'websocket error'));
    const reject = (message: string, reason: string) => {
      ws.send(errorFrame(message));
      ws.close(CloseCode.BadRequest, reason);
    };
    if (rawId === undefined || !isTransactionId(rawId)) {
      return reject('Invalid transaction id: expected a UUID', 'Invalid transaction id');
    }
    const since = rawSince === null ? undefined : parseVersion(rawSince);
    if (since === null) {
      return reject('Invalid since: expected a version, a whole number ≥ 0', 'Invalid since');
    }
    const { unwatch } = hub.watch(rawId.toLowerCase(), ws, since);
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

function splitUrl(url: string | undefined): { path: string; query: URLSearchParams } {
  const raw = url ?? '/';
  const hash = raw.indexOf('#');
  const withoutHash = hash === -1 ? raw : raw.slice(0, hash);
  const question = withoutHash.indexOf('?');
  if (question === -1) return { path: withoutHash, query: new URLSearchParams() };
  return {
    path: withoutHash.slice(0, question),
    query: new URLSearchParams(withoutHash.slice(question + 1)),
  };
}

/** A version from a query string: a whole number ≥ 0, or null when it is not one. */
export function parseVersion(value: string): number | null {
  if (!/^(0|[1-9][0-9]{0,8})$/.test(value)) return null;
  return Number(value);
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
