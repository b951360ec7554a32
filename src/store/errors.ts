import { UniqueViolation } from './types.js';

interface PgErrorLike {
  code?: unknown;
  constraint?: unknown;
  constraint_name?: unknown;
  cause?: unknown;
}

/** postgres.js and PGlite both report SQLSTATE in `code`; drizzle wraps them in `cause`. */
export function asUniqueViolation(error: unknown): UniqueViolation | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current && typeof current === 'object'; depth++) {
    const e = current as PgErrorLike;
    if (e.code === '23505') {
      const constraint = e.constraint_name ?? e.constraint;
      return new UniqueViolation(typeof constraint === 'string' ? constraint : undefined);
    }
    current = e.cause;
  }
  return undefined;
}
