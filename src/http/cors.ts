import type { FastifyInstance } from 'fastify';

/** Browsers may cache a preflight answer this long (seconds). */
export const CORS_MAX_AGE_SECONDS = 600;

const ALLOW_METHODS = 'GET, POST, OPTIONS';
const ALLOW_HEADERS = 'Authorization, Content-Type';
/** A browser script sees only "simple" response headers unless told; a 429 needs this one. */
const EXPOSE_HEADERS = 'Retry-After';

/**
 * CORS for the REST routes. `allowedOrigins` holds normalised origins and may hold `*`; empty
 * switches CORS off (no header at all). A preflight from an allowed origin is answered here,
 * before the rate limits: a browser that sees a failed preflight cannot read the 429 behind it.
 * Actual responses, errors and 429s included, get their headers in `onSend`, which runs for
 * every reply. Other origins get no CORS header, so the browser keeps the response from them.
 */
export function installCors(app: FastifyInstance, allowedOrigins: readonly string[]): void {
  if (allowedOrigins.length === 0) return;
  const any = allowedOrigins.includes('*');
  const allowed = new Set(allowedOrigins);
  const allowOrigin = (origin: string | undefined): string | undefined => {
    if (origin === undefined) return undefined;
    if (any) return '*';
    return allowed.has(origin.toLowerCase()) ? origin : undefined;
  };

  app.addHook('onRequest', (request, reply, done) => {
    const isPreflight =
      request.method === 'OPTIONS' &&
      request.headers['access-control-request-method'] !== undefined;
    const origin = isPreflight ? allowOrigin(request.headers.origin) : undefined;
    if (!origin) return done();
    void reply
      .status(204)
      .headers({
        'access-control-allow-origin': origin,
        'access-control-allow-methods': ALLOW_METHODS,
        'access-control-allow-headers': ALLOW_HEADERS,
        'access-control-max-age': String(CORS_MAX_AGE_SECONDS),
      })
      .send();
  });

  app.addHook('onSend', (request, reply, payload, done) => {
    // Caches must not serve one origin's answer to another.
    const vary = reply.getHeader('vary');
    if (vary === undefined) void reply.header('vary', 'Origin');
    else if (!/\borigin\b/i.test(String(vary)))
      void reply.header('vary', `${String(vary)}, Origin`);
    const origin = allowOrigin(request.headers.origin);
    if (origin) {
      void reply.header('access-control-allow-origin', origin);
      void reply.header('access-control-expose-headers', EXPOSE_HEADERS);
    }
    done(null, payload);
  });
}
