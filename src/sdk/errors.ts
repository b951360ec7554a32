/** The errors a watch ends with. Only these are exported: the rest are retried internally. */
export class WatchError extends Error {
  override name = 'WatchError';
}

/** No such transaction (WebSocket 4404, REST 404): retrying would not help. */
export class NotFoundError extends WatchError {
  override name = 'NotFoundError';
}

/** The transaction id or `since` was rejected (WebSocket 4400, REST 400/401/403). */
export class BadRequestError extends WatchError {
  override name = 'BadRequestError';
}
