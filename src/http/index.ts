import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { badRequest } from '../errors.js';
import { installErrorHandling } from './errors.js';
import { registerRoutes, type RouteDeps } from './routes.js';

export { API_PREFIX } from './routes.js';

export interface HttpDeps extends RouteDeps {
  logger: Logger;
  bodyLimitBytes: number;
}

export function buildHttpApp(deps: HttpDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.logger,
    bodyLimit: deps.bodyLimitBytes,
    // Request ids are generated here, never taken from a client header.
    requestIdHeader: false,
    return503OnClosing: true,
  }) as unknown as FastifyInstance;

  // JSON.parse own-properties "__proto__" rather than setting the prototype, and an empty body
  // with a JSON content type means "no body" (what fetch wrappers send for a bodiless POST).
  app.removeContentTypeParser('application/json');
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
  registerRoutes(app, deps);
  return app;
}
