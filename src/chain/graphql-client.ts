import http from 'node:http';
import https from 'node:https';
import type { z } from 'zod';
import { ChainProtocolError } from './errors.js';

/** The GraphQL service answered with `errors` (a query it rejects, a limit exceeded). */
export class GraphqlRequestError extends Error {
  override name = 'GraphqlRequestError';
}

/** One POST of a JSON body; resolves with the answer's status and text. */
export type GraphqlTransport = (
  url: string,
  body: string,
  signal: AbortSignal,
) => Promise<{ status: number; text: string }>;

export interface GraphqlClientOptions {
  url: string;
  transport: GraphqlTransport;
}

/** Far above any page the queries ask for (50 events): an answer past it is not one of them. */
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json' };

/**
 * POSTs over node:http(s) on kept-alive connections. The source polls four times a second on
 * every node: `fetch` (undici) spent about 0.85 ms of CPU per poll, this about 0.3 ms, about 1 %
 * of a core less on an idle node (docs/benchmarks.md, ninth round). Redirects are not followed:
 * a GraphQL endpoint answers its POSTs itself.
 */
export function httpTransport({ timeoutMs }: { timeoutMs: number }): GraphqlTransport {
  // Idle kept-alive sockets are unreferenced by the agent: they never hold the process open.
  const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 4 });
  return (url, body, signal) =>
    new Promise((resolve, reject) => {
      const target = new URL(url);
      const secure = target.protocol === 'https:';
      const request = (secure ? https : http).request(target, {
        method: 'POST',
        agent: secure ? httpsAgent : httpAgent,
        signal,
        headers: { ...JSON_HEADERS, 'content-length': Buffer.byteLength(body) },
      });
      // The whole exchange, not just a silent socket, gets `timeoutMs`.
      const deadline = setTimeout(
        () => request.destroy(new Error(`GraphQL request timed out after ${timeoutMs} ms`)),
        timeoutMs,
      );
      const fail = (error: Error) => {
        clearTimeout(deadline);
        reject(error);
      };
      request.on('error', fail);
      request.on('response', (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_ANSWER_BYTES) {
            request.destroy(new ChainProtocolError('GraphQL answer larger than 16 MB'));
            return;
          }
          chunks.push(chunk);
        });
        response.on('error', fail);
        response.on('close', () => {
          if (!response.complete) fail(new Error('GraphQL answer cut off'));
        });
        response.on('end', () => {
          clearTimeout(deadline);
          resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString() });
        });
      });
      request.end(body);
    });
}

/** Over a `fetch` (tests put faults in it). */
export function fetchTransport(
  fetchImpl: typeof fetch,
  { timeoutMs }: { timeoutMs: number },
): GraphqlTransport {
  return async (url, body, signal) => {
    const response = await fetchImpl(url, {
      method: 'POST',
      headers: JSON_HEADERS,
      body,
      signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
    });
    return { status: response.status, text: await response.text() };
  };
}

/** One GraphQL-over-HTTP POST; the answer's `data` is checked against `schema`. */
export async function postGraphql<S extends z.ZodType>(
  options: GraphqlClientOptions,
  query: string,
  variables: Record<string, unknown>,
  schema: S,
  signal: AbortSignal,
): Promise<z.infer<S>> {
  const response = await options.transport(
    options.url,
    JSON.stringify({ query, variables }),
    signal,
  );
  if (response.status < 200 || response.status >= 300) {
    throw new Error(`GraphQL endpoint answered HTTP ${response.status}`);
  }
  const body = JSON.parse(response.text) as { data?: unknown; errors?: { message?: string }[] };
  if (body.errors?.length) {
    const messages = body.errors.map((error) => error.message ?? 'unknown error').join('; ');
    throw new GraphqlRequestError(`GraphQL errors: ${messages.slice(0, 300)}`);
  }
  const parsed = schema.safeParse(body.data);
  if (!parsed.success) throw new ChainProtocolError('GraphQL answer has an unexpected shape');
  return parsed.data;
}
