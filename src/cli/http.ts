import { CliError, ExitCode, usageError } from './exit.js';

/** The REST base path (not imported from src/http: client commands load no server code). */
export const API = '/api/identipay/v1';
export const DEFAULT_URL = 'http://localhost:8000';
const REQUEST_TIMEOUT_MS = 30_000;

/** The options every command that talks to a running service takes. */
export const endpointOptions = {
  url: { type: 'string' },
  'api-key': { type: 'string' },
} as const;

export interface Endpoint {
  baseUrl: string;
  apiKey: string | undefined;
}

export function endpointFrom(
  values: { url?: string | undefined; 'api-key'?: string | undefined },
  env: NodeJS.ProcessEnv,
): Endpoint {
  const raw = values.url ?? (env.IDENTIPAY_STATUS_URL || DEFAULT_URL);
  let protocol: string;
  try {
    protocol = new URL(raw).protocol;
  } catch {
    throw usageError(`--url: not a URL: "${raw}"`);
  }
  if (protocol !== 'http:' && protocol !== 'https:') {
    throw usageError(`--url: expected an http:// or https:// URL, got "${raw}"`);
  }
  const apiKey = values['api-key'] ?? (env.IDENTIPAY_API_KEY || undefined);
  return { baseUrl: raw.replace(/\/+$/, ''), apiKey };
}

export function requireApiKey(endpoint: Endpoint): string {
  if (endpoint.apiKey === undefined) {
    throw usageError('missing the merchant API key: pass --api-key or set IDENTIPAY_API_KEY');
  }
  return endpoint.apiKey;
}

/** A non-2xx answer: the message is the server's JSON error body, printed as it came. */
export class ApiError extends CliError {
  constructor(
    message: string,
    readonly status: number,
    readonly body: Record<string, unknown> | undefined,
  ) {
    super(message, exitCodeForStatus(status));
    this.name = 'ApiError';
  }
}

function exitCodeForStatus(status: number): number {
  if (status === 404) return ExitCode.NotFound;
  if (status === 409) return ExitCode.Conflict;
  if ([400, 401, 403, 413, 415].includes(status)) return ExitCode.Rejected;
  return ExitCode.Failure;
}

/** Sends one JSON request and returns the JSON object of a 2xx answer; throws otherwise. */
export async function callApi(
  endpoint: Endpoint,
  request: { method: 'GET' | 'POST'; path: string; body?: unknown; apiKey?: string },
): Promise<Record<string, unknown>> {
  const headers: Record<string, string> = {};
  if (request.apiKey !== undefined) headers.authorization = `Bearer ${request.apiKey}`;
  if (request.body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  let text: string;
  try {
    response = await fetch(`${endpoint.baseUrl}${request.path}`, {
      method: request.method,
      headers,
      body: request.body === undefined ? undefined : JSON.stringify(request.body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    text = await response.text();
  } catch (error) {
    throw new CliError(`cannot reach ${endpoint.baseUrl}: ${reason(error)}`, ExitCode.Failure);
  }
  const body = parseObject(text);
  if (response.ok && body) return body;
  if (response.ok) {
    throw new CliError(`unexpected answer from ${endpoint.baseUrl}: ${text}`, ExitCode.Failure);
  }
  const message = body ? JSON.stringify(body) : `HTTP ${response.status}: ${text.slice(0, 200)}`;
  throw new ApiError(message, response.status, body);
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** fetch reports "fetch failed" and hides the useful part (ECONNREFUSED, …) in its cause. */
function reason(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return error instanceof Error ? error.message : String(error);
}
