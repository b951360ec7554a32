import Fastify, { type FastifyInstance } from 'fastify';
import type { Server } from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from 'pino';
import { badRequest } from '../errors.js';
import { installCors } from './cors.js';
import { installErrorHandling } from './errors.js';
import { operations, registerOpenApi } from './openapi.js';
import { registerHealthRoutes, type ReadinessChecks } from './health.js';
import { installRateLimits, type RateLimitDeps } from './rate-limit.js';
import { registerRoutes, type RouteDeps } from './routes.js';
import type { SandboxWallet } from '../chain/index.js';
import type { HttpTimeouts } from '../config/index.js';
import { registerDemoRoutes } from '../demo/index.js';
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
  /** CORS_ALLOWED_ORIGINS: normalised origins or `*`; empty: no CORS headers. */
  corsAllowedOrigins: readonly string[];
  /** Serve https (and so wss) with this PEM certificate and key. */
  tls?: { cert: Buffer; key: Buffer };
  /** `/ready` answers 200 only when every one of these passes. */
  readiness: ReadinessChecks;
  timeouts: HttpTimeouts;
}

export { nodeReadiness } from './health.js';

/**
 * Slow-loris protection on node's HTTP server, set before `listen` (which starts the connection
 * sweep): works the same for an HTTPS server. An upgrade request is an ordinary request until
 * its headers are complete, so one that never completes them is dropped by `headersTimeout`.
 */
function applyTimeouts(server: Server, timeouts: HttpTimeouts): void {
  server.headersTimeout = timeouts.headersTimeoutMs;
  server.requestTimeout = timeouts.requestTimeoutMs;
  server.keepAliveTimeout = timeouts.keepAliveTimeoutMs;
  // Node checks the two timeouts on this sweep (30 s by default): keep it well under them.
  const shortest = Math.min(
    timeouts.headersTimeoutMs,
    timeouts.requestTimeoutMs || timeouts.headersTimeoutMs,
  );
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval =
    Math.max(25, Math.min(1_000, Math.floor(shortest / 4)));
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
    ...(deps.tls ? { https: { cert: deps.tls.cert, key: deps.tls.key } } : {}),
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

  applyTimeouts(app.server, deps.timeouts);
  installErrorHandling(app);
  // Before the rate limits: a preflight answered 429 hides the 429 from the page.
  installCors(app, deps.corsAllowedOrigins);
  installRateLimits(app, deps.rateLimits);
  const requestSchemas = registerRoutes(app, deps);
  registerHealthRoutes(app, deps.readiness);
  app.get('/metrics', async (_request, reply) =>
    reply.type(deps.metricsRegistry.contentType).send(await deps.metricsRegistry.metrics()),
  );
  if (deps.sandboxWallet) {
    registerSandboxRoutes(app, {
      store: deps.store,
      wallet: deps.sandboxWallet,
      config: deps.config,
    });
    // The demo shop (a page at `/`), acting as the sandbox demo merchant.
    registerDemoRoutes(app, deps);
  }
  registerOpenApi(app, operations(requestSchemas, { sandbox: deps.sandboxWallet !== undefined }));
  return app;
}
