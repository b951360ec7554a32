/**
 * Issue 5: REST rate limits per client IP and per API key, token buckets whose burst is the
 * whole minute. Refusals are 429 with Retry-After and the one JSON error body, decided before
 * the request is parsed or authenticated, so a refused request writes nothing.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API, expectRejected } from './support/http.js';
import { metricValue } from './support/metrics.js';
import {
  SAMPLE_PROPOSAL,
  demoKey,
  registerMerchant,
  startTestNode,
  type TestNode,
} from './support/node.js';

const missingIntent = () => `${API}/intents/${randomUUID()}`;

describe('REST rate limit per client IP behind a trusted proxy', () => {
  let node: TestNode;
  const from = (address: string) => ({ headers: { 'x-forwarded-for': address } });

  beforeAll(async () => {
    node = await startTestNode({
      REST_REQUESTS_PER_MINUTE_PER_IP: '5',
      TRUSTED_PROXIES: '127.0.0.1,::1',
    });
  });
  afterAll(async () => {
    await node.stop();
  });

  it('answers 429 with Retry-After and {error, message} once an address has spent its requests', async () => {
    const limitedBefore = await metricValue(node, 'identipay_http_rate_limited_total', {
      limit: 'ip',
    });
    for (let i = 0; i < 5; i++) {
      expect((await node.api('GET', missingIntent(), from('198.51.100.1'))).status).toBe(404);
    }
    const refused = await node.api('GET', missingIntent(), from('198.51.100.1'));
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toMatch(/^application\/json/);
    // 5 per minute: a token every 12 s.
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(12);
    expect(refused.body).toEqual({
      error: 'too_many_requests',
      message: `Too many requests from this address: retry in ${retryAfter} s`,
    });
    expect(await metricValue(node, 'identipay_http_rate_limited_total', { limit: 'ip' })).toBe(
      limitedBefore + 1,
    );

    // Another client behind the same proxy has its own bucket.
    expect((await node.api('GET', missingIntent(), from('198.51.100.2'))).status).toBe(404);
  });

  it('refuses before parsing or authenticating, and writes nothing', async () => {
    const address = '198.51.100.3';
    for (let i = 0; i < 5; i++) await node.api('GET', missingIntent(), from(address));
    await expectRejected(
      node,
      () =>
        node.api('POST', `${API}/proposals`, {
          key: demoKey(node),
          body: SAMPLE_PROPOSAL,
          ...from(address),
        }),
      429,
    );
  });

  it('never limits /metrics', async () => {
    for (let i = 0; i < 10; i++) {
      const response = await fetch(`${node.url}/metrics`, from('198.51.100.4'));
      expect(response.status).toBe(200);
      await response.text();
    }
  });
});

describe('REST rate limit per API key', () => {
  let node: TestNode;

  beforeAll(async () => {
    node = await startTestNode({
      REST_REQUESTS_PER_MINUTE_PER_KEY: '3',
      REST_REQUESTS_PER_MINUTE_PER_IP: '30',
    });
  });
  afterAll(async () => {
    await node.stop();
  });

  it('answers 429 once a key has spent its requests, while another key goes on', async () => {
    const other = await registerMerchant(node); // the admin token's first request
    const status = (key: string) =>
      node.api('GET', `${API}/transactions/${randomUUID()}/status`, { key });
    for (let i = 0; i < 3; i++) expect((await status(demoKey(node))).status).toBe(404);

    const refused = await status(demoKey(node));
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(20);
    expect(refused.body).toEqual({
      error: 'too_many_requests',
      message: `Too many requests with this API key: retry in ${retryAfter} s`,
    });
    expect(await metricValue(node, 'identipay_http_rate_limited_total', { limit: 'key' })).toBe(1);

    expect((await status(other.apiKey)).status).toBe(404);
    // Public routes carry no key: only the address limit applies.
    expect((await node.api('GET', missingIntent())).status).toBe(404);
  });

  it('ignores X-Forwarded-For when the peer is not a trusted proxy', async () => {
    // 40 requests claiming 40 addresses are 40 requests from 127.0.0.1: over its 30.
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) {
      const headers = { 'x-forwarded-for': `203.0.113.${i + 1}` };
      statuses.push((await node.api('GET', missingIntent(), { headers })).status);
    }
    expect(statuses.filter((code) => code === 429).length).toBeGreaterThanOrEqual(10);
  });
});
