import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API, expectRejected, UUID_V4 } from './support/http.js';
import {
  registerMerchant,
  SAMPLE_PROPOSAL,
  startTestNode,
  TEST_ADMIN_TOKEN,
  type TestNode,
} from './support/node.js';

function merchantBody(overrides: Record<string, unknown> = {}) {
  return {
    name: 'Harbour Books',
    suiAddress: `0x${randomBytes(32).toString('hex')}`,
    hostname: `books-${randomBytes(4).toString('hex')}.example.com`,
    publicKey: randomBytes(32).toString('hex'),
    ...overrides,
  };
}

describe('merchant registration', () => {
  let node: TestNode;
  /** `key: null` sends no Authorization header at all. */
  const register = (body: unknown, key: string | null = TEST_ADMIN_TOKEN) =>
    node.api('POST', `${API}/merchants`, { key: key ?? undefined, body });

  beforeAll(async () => {
    node = await startTestNode();
  });
  afterAll(async () => {
    await node.stop();
  });

  it('answers 201 with {merchantId, did, apiKey} when called with the admin token', async () => {
    const body = merchantBody();
    const response = await register(body);
    expect(response.status).toBe(201);
    expect(Object.keys(response.body).sort()).toEqual(['apiKey', 'did', 'merchantId']);
    const { merchantId, did, apiKey } = response.body as Record<string, string>;
    expect(merchantId).toMatch(UUID_V4);
    expect(did).toBe(`did:identipay:${body.hostname}:${merchantId}`);
    expect(apiKey).toEqual(expect.any(String));
    expect(String(apiKey).length).toBeGreaterThanOrEqual(32);
  });

  it('issues a key that authenticates the merchant, with its details in the proposals', async () => {
    const body = merchantBody({
      suiAddress: '0xABC',
      hostname: 'Mixed-Case.Example.COM',
      publicKey: 'AB'.repeat(32),
    });
    const response = await register(body);
    expect(response.status).toBe(201);
    const { merchantId, apiKey, did } = response.body as Record<string, string>;
    expect(did).toBe(`did:identipay:mixed-case.example.com:${merchantId}`);

    const created = await node.api('POST', `${API}/proposals`, {
      key: apiKey,
      body: SAMPLE_PROPOSAL,
    });
    expect(created.status).toBe(201);
    expect((created.body.proposal as Record<string, unknown>).merchant).toEqual({
      did,
      name: body.name,
      suiAddress: `0x${'0'.repeat(61)}abc`,
      publicKey: 'ab'.repeat(32),
    });
    expect(created.body.uri).toBe(
      `did:identipay:mixed-case.example.com:${created.body.transactionId}`,
    );
  });

  it('gives every merchant a different key', async () => {
    const [first, second] = [await registerMerchant(node), await registerMerchant(node)];
    expect(first.apiKey).not.toBe(second.apiKey);
  });

  it('answers 409 for a hostname that is already registered, in any letter case', async () => {
    const body = merchantBody();
    expect((await register(body)).status).toBe(201);
    await expectRejected(node, () => register(merchantBody({ hostname: body.hostname })), 409);
    await expectRejected(
      node,
      () => register(merchantBody({ hostname: body.hostname.toUpperCase() })),
      409,
    );
  });

  it.each([
    ['no Authorization header', null],
    ['a wrong admin token', 'not-the-admin-token-at-all'],
    ['the admin token with a suffix', `${TEST_ADMIN_TOKEN}x`],
  ])('answers 401 for %s and writes nothing', async (_label, key) => {
    await expectRejected(node, () => register(merchantBody(), key), 401);
  });

  it('answers 401 when a merchant API key is used as the admin token', async () => {
    const merchant = await registerMerchant(node);
    await expectRejected(node, () => register(merchantBody(), merchant.apiKey), 401);
  });

  it.each([
    ['a missing name', { name: undefined }],
    ['an empty name', { name: '  ' }],
    ['a Sui address without 0x', { suiAddress: 'ab'.repeat(32) }],
    ['a Sui address of 65 hex digits', { suiAddress: `0x${'a'.repeat(65)}` }],
    ['a hostname with a scheme', { hostname: 'https://shop.example.com' }],
    ['a hostname with a port', { hostname: 'shop.example.com:8443' }],
    ['a hostname with a path', { hostname: 'shop.example.com/pay' }],
    ['a public key of 63 hex digits', { publicKey: 'a'.repeat(63) }],
    ['a public key that is not hex', { publicKey: 'z'.repeat(64) }],
    ['an unknown field', { website: 'https://shop.example.com' }],
  ])('answers 400 for %s and writes nothing', async (_label, overrides) => {
    await expectRejected(node, () => register(merchantBody(overrides)), 400);
  });

  it('answers 400 for malformed JSON and 415 for a non-JSON body', async () => {
    const headers = { 'content-type': 'application/json' };
    await expectRejected(
      node,
      () => node.api('POST', `${API}/merchants`, { key: TEST_ADMIN_TOKEN, rawBody: '{', headers }),
      400,
    );
    await expectRejected(
      node,
      () =>
        node.api('POST', `${API}/merchants`, {
          key: TEST_ADMIN_TOKEN,
          rawBody: 'name=Shop',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        }),
      415,
    );
  });
});

describe('merchant registration without ADMIN_TOKEN', () => {
  it('accepts the admin token generated for the run in sandbox mode', async () => {
    const node = await startTestNode({ ADMIN_TOKEN: '' });
    try {
      const generated = node.generatedAdminToken;
      expect(generated).toEqual(expect.any(String));
      const body = merchantBody();
      const key = generated ?? '';
      expect((await node.api('POST', `${API}/merchants`, { key, body })).status).toBe(201);
      await expectRejected(
        node,
        () => node.api('POST', `${API}/merchants`, { key: TEST_ADMIN_TOKEN, body: merchantBody() }),
        401,
      );
    } finally {
      await node.stop();
    }
  });

  it('disables the admin route outside sandbox mode (403)', async () => {
    // The chain endpoints point at a closed local port: this test must never reach Sui testnet.
    const node = await startTestNode({
      ADMIN_TOKEN: '',
      SUI_NETWORK: 'testnet',
      PACKAGE_ID: `0x${'ab'.repeat(32)}`,
      SUI_RPC_URL: 'http://127.0.0.1:9',
      SUI_GRAPHQL_URL: 'http://127.0.0.1:9/graphql',
    });
    try {
      expect(node.generatedAdminToken).toBeUndefined();
      for (const key of [undefined, TEST_ADMIN_TOKEN, '']) {
        await expectRejected(
          node,
          () => node.api('POST', `${API}/merchants`, { key, body: merchantBody() }),
          403,
        );
      }
    } finally {
      await node.stop();
    }
  });
});
