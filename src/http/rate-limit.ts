import type { FastifyInstance } from 'fastify';
import type { RestLimits } from '../config/index.js';
import { RateLimiter, RetryLaterError, type ClientAddresses } from '../limits/index.js';
import { hashApiKey } from '../merchants/index.js';

/** Scraped and probed from inside the deployment: never limited. */
const UNLIMITED_ROUTES = new Set(['/metrics', '/health', '/ready']);

const BEARER = /^Bearer +([\x21-\x7e]{1,512})$/i;

export interface RateLimitDeps {
  limits: RestLimits;
  addresses: ClientAddresses;
  onLimited?(limit: 'ip' | 'key'): void;
}

/**
 * Token buckets per client IP and per bearer token, checked before anything else (no body is
 * parsed, no key is looked up for a refused request). The token's bucket is keyed by its hash,
 * as the store keeps it: no key is held in memory. An unknown token gets a bucket like a valid
 * one; the per-IP limit is what stops a client cycling through made-up keys.
 */
export function installRateLimits(app: FastifyInstance, deps: RateLimitDeps): void {
  const { limits, addresses, onLimited } = deps;
  const perIp = new RateLimiter(limits.requestsPerMinutePerIp);
  const perKey = new RateLimiter(limits.requestsPerMinutePerKey);
  if (perIp.perMinute === 0 && perKey.perMinute === 0) return;

  app.addHook('onRequest', (request, _reply, done) => {
    if (UNLIMITED_ROUTES.has(request.routeOptions.url ?? '')) return done();
    const address = addresses.resolve(
      request.raw.socket.remoteAddress,
      request.headers['x-forwarded-for'],
    );
    const ipWait = perIp.take(address);
    if (ipWait > 0) {
      onLimited?.('ip');
      return done(limited('Too many requests from this address', ipWait));
    }
    const token = perKey.perMinute > 0 ? BEARER.exec(request.headers.authorization ?? '') : null;
    const keyWait = token?.[1] ? perKey.take(hashApiKey(token[1])) : 0;
    if (keyWait > 0) {
      onLimited?.('key');
      return done(limited('Too many requests with this API key', keyWait));
    }
    done();
  });
}

function limited(what: string, seconds: number): RetryLaterError {
  return new RetryLaterError('too_many_requests', `${what}: retry in ${seconds} s`, seconds);
}
