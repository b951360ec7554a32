/**
 * Issue 5, item 8: CORS for the REST routes with a configurable origin list
 * (CORS_ALLOWED_ORIGINS). Over real HTTP: preflights, actual responses, errors and 429s.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config/index.js';
import { API } from './support/http.js';
import { createProposal, startTestNode, type TestNode } from './support/node.js';

const SHOP = 'https://shop.example.com';
const OTHER = 'https://evil.example.net';

let nextAddress = 1;
/** A fresh client address per request (through the trusted proxy), so only one test hits 429. */
const freshAddress = () => `198.51.100.${nextAddress++}`;

async function send(
  node: TestNode,
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  const response = await fetch(`${node.url}${path}`, {
    method,
    headers: { 'x-forwarded-for': freshAddress(), ...headers },
  });
  await response.arrayBuffer();
  return response;
}

const preflight = (origin: string) => ({
  origin,
  'access-control-request-method': 'POST',
  'access-control-request-headers': 'authorization, content-type',
});

function corsHeaders(response: Response): Record<string, string> {
  const found: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    if (name.startsWith('access-control-')) found[name] = value;
  });
  return found;
}

describe('CORS with an origin list', () => {
  let node: TestNode;

  beforeAll(async () => {
    node = await startTestNode({
      CORS_ALLOWED_ORIGINS: `${SHOP}, https://POS.example.com:8443`,
      TRUSTED_PROXIES: '127.0.0.1,::1',
      REST_REQUESTS_PER_MINUTE_PER_IP: '3',
    });
  });
  afterAll(async () => {
    await node.stop();
  });

  it('answers a preflight from an allowed origin with 204 and the allowed methods and headers', async () => {
    const response = await send(node, 'OPTIONS', `${API}/proposals`, preflight(SHOP));
    expect(response.status).toBe(204);
    expect(corsHeaders(response)).toMatchObject({
      'access-control-allow-origin': SHOP,
      'access-control-allow-methods': 'GET, POST, OPTIONS',
      'access-control-allow-headers': 'Authorization, Content-Type',
      'access-control-max-age': '600',
    });
    expect(response.headers.get('vary')).toMatch(/\bOrigin\b/);
  });

  it('matches origins case-insensitively, as they were normalised', async () => {
    const origin = 'https://pos.example.com:8443';
    const response = await send(node, 'OPTIONS', `${API}/proposals`, preflight(origin));
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(origin);
  });

  it('gives a preflight from another origin no CORS header', async () => {
    const response = await send(node, 'OPTIONS', `${API}/proposals`, preflight(OTHER));
    expect(response.status).toBe(404);
    expect(corsHeaders(response)).toEqual({});
  });

  it('adds Access-Control-Allow-Origin and Vary: Origin to an actual response', async () => {
    const txId = await createProposal(node);
    const response = await send(node, 'GET', `${API}/intents/${txId}`, { origin: SHOP });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe(SHOP);
    expect(response.headers.get('access-control-expose-headers')).toBe('Retry-After');
    expect(response.headers.get('vary')).toMatch(/\bOrigin\b/);
  });

  it('adds them to errors too', async () => {
    const unauthorized = await send(node, 'POST', `${API}/proposals`, { origin: SHOP });
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.headers.get('access-control-allow-origin')).toBe(SHOP);
    const missing = await send(node, 'GET', '/no/such/route', { origin: SHOP });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('access-control-allow-origin')).toBe(SHOP);
  });

  it('adds them to a 429, whose Retry-After the page may read', async () => {
    const address = freshAddress();
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 4; i++) {
      last = await send(node, 'GET', `${API}/intents/${randomUUID()}`, {
        origin: SHOP,
        'x-forwarded-for': address,
      });
      statuses.push(last.status);
    }
    expect(statuses).toEqual([404, 404, 404, 429]);
    expect(last?.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(last?.headers.get('access-control-allow-origin')).toBe(SHOP);
    expect(last?.headers.get('access-control-expose-headers')).toBe('Retry-After');
  });

  it('gives an actual response to another origin Vary: Origin but no CORS header', async () => {
    const response = await send(node, 'GET', `${API}/intents/${randomUUID()}`, { origin: OTHER });
    expect(response.status).toBe(404);
    expect(corsHeaders(response)).toEqual({});
    expect(response.headers.get('vary')).toMatch(/\bOrigin\b/);
  });
});

describe('CORS configuration', () => {
  it('sends no CORS header at all when CORS_ALLOWED_ORIGINS is unset', async () => {
    const node = await startTestNode();
    try {
      const pre = await send(node, 'OPTIONS', `${API}/proposals`, preflight(SHOP));
      expect(pre.status).toBe(404);
      expect(corsHeaders(pre)).toEqual({});
      const actual = await send(node, 'GET', `${API}/intents/${randomUUID()}`, { origin: SHOP });
      expect(corsHeaders(actual)).toEqual({});
      expect(actual.headers.get('vary')).toBeNull();
    } finally {
      await node.stop();
    }
  });

  it('allows any origin with an explicit *', async () => {
    const node = await startTestNode({ CORS_ALLOWED_ORIGINS: '*' });
    try {
      const pre = await send(node, 'OPTIONS', `${API}/proposals`, preflight(OTHER));
      expect(pre.status).toBe(204);
      expect(pre.headers.get('access-control-allow-origin')).toBe('*');
      const actual = await send(node, 'GET', `${API}/intents/${randomUUID()}`, { origin: OTHER });
      expect(actual.headers.get('access-control-allow-origin')).toBe('*');
    } finally {
      await node.stop();
    }
  });

  it('stops start-up on a value that is not an origin, naming the variable', () => {
    expect(() => loadConfig({ CORS_ALLOWED_ORIGINS: 'https://shop.example.com/path' })).toThrow(
      ConfigError,
    );
    expect(() => loadConfig({ CORS_ALLOWED_ORIGINS: 'shop.example.com' })).toThrow(
      /CORS_ALLOWED_ORIGINS/,
    );
    expect(loadConfig({ CORS_ALLOWED_ORIGINS: 'https://Shop.Example.com, *' })).toMatchObject({
      corsAllowedOrigins: ['https://shop.example.com', '*'],
    });
  });
});
