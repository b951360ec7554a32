import type { z } from 'zod';
import { ChainProtocolError } from './errors.js';

/** The GraphQL service answered with `errors` (a query it rejects, a limit exceeded). */
export class GraphqlRequestError extends Error {
  override name = 'GraphqlRequestError';
}

export interface GraphqlClientOptions {
  url: string;
  fetch: typeof fetch;
  timeoutMs: number;
}

/** One GraphQL-over-HTTP POST; the answer's `data` is checked against `schema`. */
export async function postGraphql<S extends z.ZodType>(
  options: GraphqlClientOptions,
  query: string,
  variables: Record<string, unknown>,
  schema: S,
  signal: AbortSignal,
): Promise<z.infer<S>> {
  const response = await options.fetch(options.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.any([signal, AbortSignal.timeout(options.timeoutMs)]),
  });
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`GraphQL endpoint answered HTTP ${response.status}`);
  }
  const body = (await response.json()) as { data?: unknown; errors?: { message?: string }[] };
  if (body.errors?.length) {
    const messages = body.errors.map((error) => error.message ?? 'unknown error').join('; ');
    throw new GraphqlRequestError(`GraphQL errors: ${messages.slice(0, 300)}`);
  }
  const parsed = schema.safeParse(body.data);
  if (!parsed.success) throw new ChainProtocolError('GraphQL answer has an unexpected shape');
  return parsed.data;
}
