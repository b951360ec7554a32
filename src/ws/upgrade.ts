import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AppError } from '../errors.js';
import { retryAfterSeconds } from '../limits/index.js';

export function splitUrl(url: string | undefined): { path: string; query: URLSearchParams } {
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

export function decodeSafely(value: string): string | undefined {
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
