import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { AppError } from '../errors.js';
import { retryAfterSeconds } from '../limits/index.js';

/** The path, and the query string when there is one (most connects have none). */
export function splitUrl(url: string | undefined): { path: string; query: string | undefined } {
  const raw = url ?? '/';
  const hash = raw.indexOf('#');
  const withoutHash = hash === -1 ? raw : raw.slice(0, hash);
  const question = withoutHash.indexOf('?');
  if (question === -1) return { path: withoutHash, query: undefined };
  return { path: withoutHash.slice(0, question), query: withoutHash.slice(question + 1) };
}

/** A version from a query string: a whole number ≥ 0, or null when it is not one. */
export function parseVersion(value: string): number | null {
  if (!/^(0|[1-9][0-9]{0,8})$/.test(value)) return null;
  return Number(value);
}

export function decodeSafely(value: string): string | undefined {
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

/**
 * Answers an upgrade request with a plain HTTP error and never upgrades: the error's status,
 * the one JSON error body, and `Retry-After` when the error carries it.
 */
export function refuseUpgrade(socket: Duplex, error: AppError): void {
  const status = error.httpStatus;
  const body = JSON.stringify(error.toBody());
  const retryAfter = retryAfterSeconds(error);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nConnection: close\r\n` +
      'Content-Type: application/json\r\n' +
      (retryAfter === undefined ? '' : `Retry-After: ${retryAfter}\r\n`) +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/**
 * The TCP peer's address, asked of the socket's handle without `socket.remoteAddress`, which
 * keeps it on the socket for good: one more property (and object) on every upgraded socket,
 * about 150 bytes each, for a value the limits read once.
 */
export function peerAddress(socket: Socket): string | undefined {
  const handle = (socket as Socket & { _handle?: PeerHandle | null })._handle;
  if (typeof handle?.getpeername === 'function') {
    const peer: { address?: string } = {};
    if (handle.getpeername(peer) === 0) return peer.address;
  }
  return socket.remoteAddress;
}

interface PeerHandle {
  getpeername(out: { address?: string }): number;
}
