import { CloseCode } from './wire/index.js';

/**
 * One error path: code anywhere throws an AppError of a kind; the HTTP layer and the WebSocket
 * layer turn it into a status code or a close code using this single table.
 */
const KINDS = {
  bad_request: { http: 400, close: CloseCode.BadRequest },
  unauthorized: { http: 401, close: CloseCode.PolicyViolation },
  forbidden: { http: 403, close: CloseCode.PolicyViolation },
  not_found: { http: 404, close: CloseCode.NotFound },
  conflict: { http: 409, close: CloseCode.BadRequest },
  gone: { http: 410, close: CloseCode.NotFound },
  payload_too_large: { http: 413, close: CloseCode.MessageTooBig },
  unsupported_media_type: { http: 415, close: CloseCode.BadRequest },
  too_many_requests: { http: 429, close: CloseCode.TooManyRequests },
  internal: { http: 500, close: CloseCode.InternalError },
  unavailable: { http: 503, close: CloseCode.TryAgainLater },
} as const;

export type ErrorKind = keyof typeof KINDS;

/** The HTTP status of each kind, for the OpenAPI document. */
export function httpStatusOf(kind: ErrorKind): number {
  return KINDS[kind].http;
}

export class AppError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    /** Extra JSON fields for the response body (never secrets). */
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'AppError';
  }

  get httpStatus(): number {
    return KINDS[this.kind].http;
  }

  get closeCode(): number {
    return KINDS[this.kind].close;
  }

  toBody(): Record<string, unknown> {
    return { error: this.kind, message: this.message, ...this.extra };
  }
}

export const badRequest = (message: string, extra?: Record<string, unknown>) =>
  new AppError('bad_request', message, extra);
export const notFound = (message: string) => new AppError('not_found', message);
export const unauthorized = (message: string) => new AppError('unauthorized', message);
export const conflict = (message: string, extra?: Record<string, unknown>) =>
  new AppError('conflict', message, extra);
