import { AppError } from '../errors.js';

/**
 * A limit was hit and the client may try again after a while: 429 (a rate limit) or 503 (the
 * node is full), with `Retry-After`, for REST requests and WebSocket upgrades alike.
 */
export class RetryLaterError extends AppError {
  constructor(
    kind: 'too_many_requests' | 'unavailable',
    message: string,
    /** Whole seconds until the client may try again. */
    readonly retryAfterSeconds: number,
  ) {
    super(kind, message);
  }
}

/** Seconds a client should wait before trying again, when the error says so. */
export function retryAfterSeconds(error: AppError): number | undefined {
  return error instanceof RetryLaterError ? error.retryAfterSeconds : undefined;
}
