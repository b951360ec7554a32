export { ClientAddresses, normaliseAddress } from './client-address.js';
export { ConnectionCounts } from './connection-counts.js';
export { RetryLaterError, retryAfterSeconds } from './errors.js';
export { RateLimiter } from './rate-limiter.js';
