import type { FastifyError, FastifyInstance } from 'fastify';
import type { ZodError } from 'zod';
import { AppError } from '../errors.js';
import { retryAfterSeconds } from '../limits/index.js';

/** Fastify's own errors, mapped onto our kinds so that every error body has one shape. */
const FASTIFY_CODES: Record<string, AppError['kind']> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'bad_request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'bad_request',
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'bad_request',
  FST_ERR_CTP_INVALID_TYPE: 'unsupported_media_type',
};

export function fromZod(error: ZodError): AppError {
  const issues = error.issues.map((issue) => ({
    path: issue.path.join('.'),
    message: issue.message,
  }));
  const first = issues[0];
  const summary = first ? `${first.path || 'body'}: ${first.message}` : 'Invalid request';
  return new AppError('bad_request', `Invalid request body: ${summary}`, { issues });
}

function toAppError(error: FastifyError | Error): AppError {
  if (error instanceof AppError) return error;
  const code = (error as FastifyError).code;
  const kind = code ? FASTIFY_CODES[code] : undefined;
  if (kind) return new AppError(kind, error.message);
  const status = (error as FastifyError).statusCode;
  if (status === 400) return new AppError('bad_request', error.message);
  return new AppError('internal', 'Internal server error');
}

/** The one place where any thrown error becomes an HTTP response. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => {
    const appError = toAppError(error as FastifyError);
    const logged = { error: appError.kind, message: appError.message };
    if (appError.kind === 'internal') request.log.error({ err: error }, 'request failed');
    // A client over its rate limit would otherwise turn its flood into a flood of log lines.
    else if (appError.kind === 'too_many_requests') request.log.debug(logged, 'request rejected');
    else request.log.info(logged, 'request rejected');
    const retryAfter = retryAfterSeconds(appError);
    if (retryAfter !== undefined) void reply.header('retry-after', String(retryAfter));
    void reply.status(appError.httpStatus).send(appError.toBody());
  });
  app.setNotFoundHandler((request, reply) => {
    const error = new AppError(
      'not_found',
      `No route for ${request.method} ${request.url.split('?')[0]}`,
    );
    void reply.status(error.httpStatus).send(error.toBody());
  });
}
