import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Logger } from 'pino';
import { badRequest } from '../errors.js';
import { installErrorHandling } from './errors.js';
import { installRateLimits, type RateLimitDeps } from './rate-limit.js';
import { registerRoutes, type RouteDeps } from './routes.js';
import type { SandboxWallet } from '../chain/index.js';
import { registerSandboxRoutes } from './sandbox.js';

export { API_PREFIX } from './routes.js';

export interface HttpDeps extends RouteDeps {
  logger: Logger;
  bodyLimitBytes: number;
  /** Sandbox mode only: the wallet behind POST /sandbox/transactions/:txId/pay. */
  sandboxWallet?: SandboxWallet;
  metricsRegistry: Registry;
  /** REST rate limits per client IP and per API key. */
  rateLimits: RateLimitDeps;
}

export function buildHttpApp(deps: HttpDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.logger,
    bodyLimit: deps.bodyLimitBytes,
    // Request ids are generated here, never taken from a client header.
    requestIdHeader: false,
    return503OnClosing: true,
    // request.ip (logged) follows X-Forwarded-For only through the configured trusted proxies.
    trustProxy: (address: string) => deps.rateLimits.addresses.isTrusted(address),
  }) as unknown as FastifyInstance;

  // JSON.parse own-properties "__proto__" rather than setting the prototype, and an empty body
  // with a JSON content type means "no body" (what fetch wrappers send for a bodiless POST).
  // JSON only: Fastify's built-in text/plain parser would hand a string to the routes (a 400
  // instead of the documented 415 for a wrong content type).
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = body as string;
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text) as unknown);
    } catch {
      done(badRequest('Malformed JSON body'), undefined);
    }
  });

  installErrorHandling(app);
  installRateLimits(app, deps.rateLimits);
  registerRoutes(app, deps);
  app.get('/metrics', async (_request, reply) =>
    reply.type(deps.metricsRegistry.contentType).send(await deps.metricsRegistry.metrics()),
  );
  if (deps.sandboxWallet) {
    registerSandboxRoutes(app, {
      store: deps.store,
      wallet: deps.sandboxWallet,
      config: deps.config,
    });
  }
  return app;
}
