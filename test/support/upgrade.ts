import WebSocket from 'ws';
import { TestSocket, withTimeout } from './ws-client.js';

export interface ClientOptions {
  /** Sent as X-Forwarded-For: the client address a trusted proxy reports. */
  forwardedFor?: string;
  origin?: string;
  /** false: a client that never answers pings (a silent or half-open peer). */
  autoPong?: boolean;
}

function clientOptions(options: ClientOptions): WebSocket.ClientOptions {
  const headers: Record<string, string> = {};
  if (options.forwardedFor !== undefined) headers['x-forwarded-for'] = options.forwardedFor;
  return {
    headers,
    ...(options.origin === undefined ? {} : { origin: options.origin }),
    ...(options.autoPong === undefined ? {} : { autoPong: options.autoPong }),
  };
}

/** A recording client with the given headers and pong behaviour. */
export function connectAs(url: string, options: ClientOptions = {}): TestSocket {
  const socket = new TestSocket(new WebSocket(url, clientOptions(options)));
  // A refused upgrade is an outcome these tests look at through `closed`, not a failure;
  // awaiting `opened` still rejects.
  socket.opened.catch(() => {});
  return socket;
}

export interface UpgradeAnswer {
  /** 101 when the server upgraded (the socket is closed again at once). */
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The refusal's body, parsed (empty for 101). */
  body: Record<string, unknown>;
}

/** Attempts an upgrade and reports how the server answered it, body and headers included. */
export function upgradeAnswer(
  url: string,
  options: ClientOptions = {},
  timeoutMs = 10_000,
): Promise<UpgradeAnswer> {
  const ws = new WebSocket(url, clientOptions(options));
  ws.on('error', () => {});
  const answered = new Promise<UpgradeAnswer>((resolve, reject) => {
    ws.once('upgrade', (response) => {
      resolve({ status: 101, headers: response.headers, body: {} });
      ws.once('open', () => ws.close());
    });
    ws.once('unexpected-response', (request, response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => {
        request.destroy();
        try {
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
          });
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      });
    });
  });
  return withTimeout(answered, timeoutMs, `the server to answer the upgrade to ${url}`);
}
