/**
 * Issue 5, item 7: the HTTP API is described by an OpenAPI 3.1 document served at
 * /openapi.json, generated from the very schemas that validate requests. Real responses of a
 * running node are parsed with the documented response schemas.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z, type ZodType } from 'zod';
import { loadConfig } from '../src/config/index.js';
import { registerMerchantBodySchema } from '../src/merchants/index.js';
import { createProposalBodySchema } from '../src/proposals/index.js';
import { buildOpenApiDocument, operations, type Operation } from '../src/http/openapi.js';
import { emptyBodySchema, statusQuerySchema, type RequestSchemas } from '../src/http/routes.js';
import { sandboxPayBodySchema } from '../src/http/sandbox.js';
import { demoCheckoutBodySchema } from '../src/demo/index.js';
import { API, type ApiResponse } from './support/http.js';
import {
  SAMPLE_PROPOSAL,
  TEST_ADMIN_TOKEN,
  createProposal,
  demoKey,
  startTestNode,
  type TestNode,
} from './support/node.js';
import { waitFor } from './support/wait.js';

type Json = Record<string, unknown>;

/** What z.toJSONSchema makes of a request schema, as the document embeds it. */
function inputSchema(schema: ZodType): Json {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: 'input' }) as Json;
  return rest;
}

const schemas: RequestSchemas = {
  registerMerchantBody: registerMerchantBodySchema,
  createProposalBody: createProposalBodySchema(loadConfig({}).currencies),
  statusQuery: statusQuerySchema,
  emptyBody: emptyBodySchema,
};
const OPERATIONS = operations(schemas, { sandbox: true });

const EXPECTED_ROUTES: [string, string][] = [
  ['post', `${API}/merchants`],
  ['post', `${API}/proposals`],
  ['get', `${API}/transactions/{txId}/status`],
  ['post', `${API}/transactions/{txId}/cancel`],
  ['get', `${API}/intents/{txId}`],
  ['post', '/sandbox/transactions/{txId}/pay'],
  ['post', '/demo/checkout'],
  ['get', '/demo/transactions/{txId}/status'],
  ['post', '/demo/transactions/{txId}/cancel'],
  ['get', '/metrics'],
  ['get', '/health'],
  ['get', '/ready'],
  ['get', '/openapi.json'],
];

/** Sandbox only: the wallet simulation and the demo shop's JSON routes. */
const SANDBOX_ONLY = EXPECTED_ROUTES.filter(
  ([, path]) => path.startsWith('/sandbox/') || path.startsWith('/demo/'),
);

/** Statuses per route, as docs/PROTOCOL.md lists them. */
const EXPECTED_STATUSES: Record<string, number[]> = {
  registerMerchant: [201, 400, 401, 403, 409, 413, 415, 429, 500],
  createProposal: [201, 400, 401, 413, 415, 429, 500],
  getTransactionStatus: [200, 400, 401, 404, 429, 500],
  cancelTransaction: [200, 400, 401, 404, 409, 413, 415, 429, 500],
  getIntent: [200, 400, 404, 410, 429, 500],
  sandboxPay: [202, 400, 404, 409, 413, 415, 429, 500],
  demoCheckout: [201, 400, 413, 415, 429, 500],
  demoTransactionStatus: [200, 400, 404, 429, 500],
  demoCancel: [200, 400, 404, 409, 413, 415, 429, 500],
  getMetrics: [200, 500],
  getHealth: [200],
  getReady: [200, 503],
  getOpenApi: [200, 429, 500],
};

function operation(id: string): Operation {
  const found = OPERATIONS.find((candidate) => candidate.operationId === id);
  if (!found) throw new Error(`no operation ${id}`);
  return found;
}

describe('OpenAPI document', () => {
  let node: TestNode;
  let doc: Json & { paths: Record<string, Record<string, Json>> };
  /** Follows a `#/components/…` reference within the document. */
  const resolve = (object: Json): Json => {
    const ref = object.$ref;
    if (typeof ref !== 'string') return object;
    const target = ref
      .replace(/^#\//, '')
      .split('/')
      .reduce<unknown>((node, key) => (node as Json | undefined)?.[key], doc);
    if (!target) throw new Error(`dangling reference ${ref}`);
    return target as Json;
  };
  const documented = (method: string, path: string): Json => {
    const found = doc.paths[path]?.[method];
    if (!found) throw new Error(`${method} ${path} is not documented`);
    return found;
  };

  beforeAll(async () => {
    node = await startTestNode();
    const response = await node.api('GET', '/openapi.json');
    expect(response.status).toBe(200);
    doc = response.body as typeof doc;
  });
  afterAll(async () => {
    await node.stop();
  });

  it('is an OpenAPI 3.1 document with bearer schemes for API keys and the admin token', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
    expect((doc.components as Json).securitySchemes).toEqual({
      apiKey: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
      adminToken: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
    });
  });

  it('gives every operation a unique operationId and every path template its parameter', () => {
    const all = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.values(methods).map((op) => ({ path, op })),
    );
    const ids = all.map(({ op }) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { path, op } of all) {
      const templated = [...path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]);
      const inPath = ((op.parameters as Json[] | undefined) ?? [])
        .filter((parameter) => parameter.in === 'path')
        .map((parameter) => parameter.name);
      expect(inPath, path).toEqual(templated);
    }
  });

  it('has no dangling $ref', () => {
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of new Set(refs)) resolve(JSON.parse(`{${ref}}`) as Json);
  });

  it('lists every route with its method, and nothing else', () => {
    const listed = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => [method, path]),
    );
    expect(listed.sort()).toEqual([...EXPECTED_ROUTES].sort());
  });

  it('documents each request body as z.toJSONSchema of the schema that validates it', () => {
    const body = (method: string, path: string) =>
      (documented(method, path).requestBody as { required: boolean; content: Json }) ?? undefined;
    const schemaOf = (method: string, path: string) =>
      (body(method, path).content['application/json'] as Json).schema;

    expect(schemaOf('post', `${API}/merchants`)).toEqual(inputSchema(registerMerchantBodySchema));
    expect(body('post', `${API}/merchants`).required).toBe(true);
    expect(schemaOf('post', `${API}/proposals`)).toEqual(
      inputSchema(createProposalBodySchema(loadConfig({}).currencies)),
    );
    expect(schemaOf('post', `${API}/transactions/{txId}/cancel`)).toEqual(
      inputSchema(emptyBodySchema),
    );
    // Both accept no body at all.
    expect(body('post', `${API}/transactions/{txId}/cancel`).required).toBe(false);
    expect(schemaOf('post', '/sandbox/transactions/{txId}/pay')).toEqual(
      inputSchema(sandboxPayBodySchema),
    );
    expect(body('post', '/sandbox/transactions/{txId}/pay').required).toBe(false);
    expect(schemaOf('post', '/demo/checkout')).toEqual(inputSchema(demoCheckoutBodySchema));
    expect(body('post', '/demo/checkout').required).toBe(true);
    expect(schemaOf('post', '/demo/transactions/{txId}/cancel')).toEqual(
      inputSchema(emptyBodySchema),
    );
    for (const [method, path] of EXPECTED_ROUTES) {
      if (method === 'get') expect(documented(method, path).requestBody).toBeUndefined();
    }
  });

  it('documents the txId path parameter and the since query parameter from the query schema', () => {
    const parameters = documented('get', `${API}/transactions/{txId}/status`).parameters as Json[];
    const since = (inputSchema(statusQuerySchema).properties as Json).since;
    expect(parameters).toEqual([
      expect.objectContaining({ name: 'txId', in: 'path', required: true }),
      { name: 'since', in: 'query', required: false, schema: since },
    ]);
  });

  it('documents the {error, message} body for every error status of every route', () => {
    for (const op of OPERATIONS) {
      const responses = documented(op.method, op.path).responses as Record<string, Json>;
      expect(Object.keys(responses).map(Number), op.operationId).toEqual(
        EXPECTED_STATUSES[op.operationId],
      );
      for (const [status, response] of Object.entries(responses)) {
        // /ready's 503 is its own report, not an error.
        if (Number(status) < 400 || op.operationId === 'getReady') continue;
        const content = resolve(response).content as Record<string, Json>;
        expect(content['application/json']?.schema, `${op.operationId} ${status}`).toMatchObject({
          type: 'object',
          required: ['error', 'message'],
          properties: { error: expect.any(Object), message: { type: 'string' } },
        });
      }
    }
    const limited = documented('get', `${API}/intents/{txId}`).responses as Record<string, Json>;
    expect(resolve(limited['429'] ?? {}).headers).toHaveProperty('Retry-After');
  });

  it('marks merchant routes with the API key, the admin route with the admin token', () => {
    expect(documented('post', `${API}/merchants`).security).toEqual([{ adminToken: [] }]);
    expect(documented('post', `${API}/proposals`).security).toEqual([{ apiKey: [] }]);
    expect(documented('get', `${API}/intents/{txId}`).security).toEqual([]);
  });

  it('leaves the sandbox and demo shop routes out outside sandbox mode', () => {
    const production = buildOpenApiDocument(operations(schemas, { sandbox: false })) as {
      paths: Json;
    };
    for (const [, path] of SANDBOX_ONLY) expect(Object.keys(production.paths)).not.toContain(path);
    expect(Object.keys(production.paths)).toHaveLength(
      EXPECTED_ROUTES.length - SANDBOX_ONLY.length,
    );
  });

  describe('real responses conform to the documented schemas', () => {
    const seen: string[] = [];

    /** Parses a real response with the operation's response schema for its status. */
    function expectConforms(id: string, response: ApiResponse, status: number): void {
      expect(response.status, JSON.stringify(response.body)).toBe(status);
      const op = operation(id);
      const documentedResponse = op.responses[status];
      if (!documentedResponse) throw new Error(`${id} does not document ${status}`);
      const responses = documented(op.method, op.path).responses as Json;
      expect(responses).toHaveProperty(String(status));
      expect(response.headers.get('content-type')).toContain(documentedResponse.contentType);
      const result = documentedResponse.schema.safeParse(response.body);
      expect(result.error?.issues ?? [], `${id} ${status}`).toEqual([]);
      seen.push(`${id} ${status}`);
    }

    const key = () => demoKey(node);
    const statusOf = (txId: string, query = '') =>
      node.api('GET', `${API}/transactions/${txId}/status${query}`, { key: key() });

    it('POST /merchants: 201, 400, 401, 409, 413, 415', async () => {
      const merchant = {
        name: 'Conforming Shop',
        suiAddress: '0x2a',
        hostname: `shop-${randomUUID()}.example.com`,
        publicKey: 'ab'.repeat(32),
      };
      const send = (body: unknown, token = TEST_ADMIN_TOKEN) =>
        node.api('POST', `${API}/merchants`, { key: token, body });
      expectConforms('registerMerchant', await send(merchant), 201);
      expectConforms('registerMerchant', await send(merchant), 409);
      expectConforms('registerMerchant', await send({ ...merchant, extra: 1 }), 400);
      expectConforms('registerMerchant', await send(merchant, 'wrong-token-0123456789'), 401);
      const text = await node.api('POST', `${API}/merchants`, {
        key: TEST_ADMIN_TOKEN,
        rawBody: 'name=shop',
        headers: { 'content-type': 'text/plain' },
      });
      expectConforms('registerMerchant', text, 415);
      const huge = await node.api('POST', `${API}/merchants`, {
        key: TEST_ADMIN_TOKEN,
        body: { name: 'x'.repeat(70 * 1024) },
      });
      expectConforms('registerMerchant', huge, 413);
    });

    it('POST /proposals: 201, 400, 401', async () => {
      const send = (body: unknown, token = key()) =>
        node.api('POST', `${API}/proposals`, { key: token, body });
      const withExtras = {
        ...SAMPLE_PROPOSAL,
        deliverables: { receipt: true, warranty: { durationDays: 30, transferable: false } },
        constraints: { ageGate: 18, regionRestriction: ['EU'] },
      };
      expectConforms('createProposal', await send(withExtras), 201);
      expectConforms('createProposal', await send({ ...SAMPLE_PROPOSAL, items: [] }), 400);
      expectConforms('createProposal', await send(SAMPLE_PROPOSAL, 'ips_unknown'), 401);
    });

    it('GET /transactions/:txId/status: 200 (pending, with since), 400, 401, 404', async () => {
      const txId = await createProposal(node);
      expectConforms('getTransactionStatus', await statusOf(txId), 200);
      expectConforms('getTransactionStatus', await statusOf(txId, '?since=0'), 200);
      expectConforms('getTransactionStatus', await statusOf(txId, '?since=7'), 400);
      expectConforms('getTransactionStatus', await statusOf('not-a-uuid'), 400);
      expectConforms('getTransactionStatus', await statusOf(randomUUID()), 404);
      const anonymous = await node.api('GET', `${API}/transactions/${txId}/status`);
      expectConforms('getTransactionStatus', anonymous, 401);
    });

    it('POST /sandbox/.../pay then GET status: 202, settled 200, 409, 400, 404', async () => {
      const txId = await createProposal(node);
      const pay = (id: string, body?: unknown) =>
        node.api('POST', `/sandbox/transactions/${id}/pay`, { body });
      expectConforms('sandboxPay', await pay(txId, { amount: 'lots' }), 400);
      expectConforms('sandboxPay', await pay(txId), 202);
      await waitFor(
        async () => (await statusOf(txId)).body.status === 'settled',
        'the settlement to be indexed',
      );
      expectConforms('getTransactionStatus', await statusOf(txId), 200);
      expectConforms('getTransactionStatus', await statusOf(txId, '?since=1'), 200);
      expectConforms('sandboxPay', await pay(txId), 409);
      expectConforms('sandboxPay', await pay(randomUUID()), 404);
    });

    it('POST /transactions/:txId/cancel and GET /intents/:txId: 200, 400, 404, 409, 410', async () => {
      const txId = await createProposal(node);
      const cancel = (id: string, body?: unknown) =>
        node.api('POST', `${API}/transactions/${id}/cancel`, { key: key(), body });
      const intent = (id: string) => node.api('GET', `${API}/intents/${id}`);
      expectConforms('getIntent', await intent(txId), 200);
      expectConforms('cancelTransaction', await cancel(txId, { reason: 'no' }), 400);
      expectConforms('cancelTransaction', await cancel(txId), 200);
      expectConforms('cancelTransaction', await cancel(txId), 409);
      expectConforms('cancelTransaction', await cancel(randomUUID()), 404);
      expectConforms('getIntent', await intent(txId), 410);
      expectConforms('getIntent', await intent(randomUUID()), 404);
      expectConforms('getIntent', await intent('nope'), 400);
    });

    it('demo shop: checkout 201, 400; status 200, 400, 404; cancel 200, 400, 404, 409', async () => {
      const checkout = (body: unknown) => node.api('POST', '/demo/checkout', { body });
      const created = await checkout({ items: [{ sku: 'espresso', quantity: 2 }] });
      expectConforms('demoCheckout', created, 201);
      expectConforms('demoCheckout', await checkout({ items: [{ sku: 'x', quantity: 1 }] }), 400);
      const txId = created.body.transactionId as string;
      const status = (id: string, query = '') =>
        node.api('GET', `/demo/transactions/${id}/status${query}`);
      const cancel = (id: string, body?: unknown) =>
        node.api('POST', `/demo/transactions/${id}/cancel`, { body });
      expectConforms('demoTransactionStatus', await status(txId), 200);
      expectConforms('demoTransactionStatus', await status(txId, '?since=0'), 200);
      expectConforms('demoTransactionStatus', await status(txId, '?since=9'), 400);
      expectConforms('demoTransactionStatus', await status(randomUUID()), 404);
      expectConforms('demoCancel', await cancel(txId, { now: true }), 400);
      expectConforms('demoCancel', await cancel(txId), 200);
      expectConforms('demoCancel', await cancel(txId), 409);
      expectConforms('demoCancel', await cancel(randomUUID()), 404);
    });

    it('GET /metrics, /openapi.json, /health and /ready: 200', async () => {
      const metrics = await fetch(`${node.url}/metrics`);
      const text = await metrics.text();
      expectConforms(
        'getMetrics',
        { status: metrics.status, headers: metrics.headers, body: text as unknown as Json },
        200,
      );
      expect(text).toContain('identipay_');
      expectConforms('getOpenApi', await node.api('GET', '/openapi.json'), 200);
      expectConforms('getHealth', await node.api('GET', '/health'), 200);
      expectConforms('getReady', await node.api('GET', '/ready'), 200);
    });

    it('429 from a rate-limited node', async () => {
      const limited = await startTestNode({ REST_REQUESTS_PER_MINUTE_PER_IP: '1' });
      try {
        await limited.api('GET', '/openapi.json');
        const refused = await limited.api('GET', `${API}/intents/${randomUUID()}`);
        expectConforms('getIntent', refused, 429);
        expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      } finally {
        await limited.stop();
      }
    });

    it('covered every documented success status', () => {
      for (const op of OPERATIONS) {
        const success = Object.keys(op.responses)
          .map(Number)
          .find((status) => status < 300);
        expect(seen, op.operationId).toContain(`${op.operationId} ${success}`);
      }
    });
  });
});
