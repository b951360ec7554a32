import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/logger.js';
import { startNode, type RunningNode } from '../../src/node.js';
import type { DatabaseLocation } from '../../src/store/index.js';
import { TestSocket } from './ws-client.js';

export interface TestNode extends RunningNode {
  /** Every log line the node wrote, parsed: privacy tests search them. */
  logs: string[];
  wsUrl(transactionId: string): string;
  api(
    method: string,
    path: string,
    options?: { body?: unknown; rawBody?: string; key?: string; headers?: Record<string, string> },
  ): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }>;
  watch(transactionId: string): TestSocket;
}

export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789';

/**
 * A real node on port 0 with an in-memory PGlite (or the given database). Logs are captured
 * rather than printed.
 */
export async function startTestNode(
  env: Record<string, string> = {},
  database: DatabaseLocation = { kind: 'pglite', dataDir: undefined },
): Promise<TestNode> {
  const config = loadConfig({
    PORT: '0',
    ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    EXPIRY_SWEEP_MS: '100',
    ...env,
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  const logger = createLogger('debug', sink);
  const node = await startNode(config, { logger, database, sandboxChainDataFile: false });
  const base = node.url;
  return {
    ...node,
    logs,
    wsUrl: (transactionId) => `${base.replace('http', 'ws')}/ws/transactions/${transactionId}`,
    async api(method, path, options = {}) {
      const headers: Record<string, string> = { ...options.headers };
      if (options.key) headers.authorization = `Bearer ${options.key}`;
      let body: string | undefined = options.rawBody;
      if (options.body !== undefined) {
        body = JSON.stringify(options.body);
        headers['content-type'] ??= 'application/json';
      }
      const response = await fetch(`${base}${path}`, { method, headers, body });
      const text = await response.text();
      return {
        status: response.status,
        body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
        headers: response.headers,
      };
    },
    watch(transactionId) {
      return TestSocket.connect(`${base.replace('http', 'ws')}/ws/transactions/${transactionId}`);
    },
  };
}

export const SAMPLE_PROPOSAL = {
  items: [{ name: 'Espresso', quantity: 2, unitPrice: '2.50' }],
  amount: { value: '5.00', currency: 'USDC' },
  deliverables: { receipt: true },
};

/** The sandbox demo merchant's API key (every test node runs in sandbox mode by default). */
export function demoKey(node: TestNode): string {
  const key = node.demoMerchant?.apiKey;
  if (!key) throw new Error('this node has no demo merchant (not in sandbox mode)');
  return key;
}

/** Creates a proposal as the demo merchant and returns its transaction id. */
export async function createProposal(
  node: TestNode,
  overrides: Record<string, unknown> = {},
  key = node.demoMerchant?.apiKey,
): Promise<string> {
  const response = await node.api('POST', '/api/identipay/v1/proposals', {
    key,
    body: { ...SAMPLE_PROPOSAL, ...overrides },
  });
  if (response.status !== 201) throw new Error(`create failed: ${JSON.stringify(response.body)}`);
  return response.body.transactionId as string;
}

export interface TestMerchant {
  merchantId: string;
  did: string;
  apiKey: string;
  hostname: string;
}

/** Registers a merchant with a unique hostname through the admin route. */
export async function registerMerchant(
  node: TestNode,
  overrides: Record<string, unknown> = {},
): Promise<TestMerchant> {
  const body = {
    name: 'Test Shop',
    suiAddress: `0x${randomBytes(32).toString('hex')}`,
    hostname: `shop-${randomBytes(6).toString('hex')}.example.com`,
    publicKey: randomBytes(32).toString('hex'),
    ...overrides,
  };
  const response = await node.api('POST', '/api/identipay/v1/merchants', {
    key: TEST_ADMIN_TOKEN,
    body,
  });
  if (response.status !== 201) throw new Error(`register failed: ${JSON.stringify(response.body)}`);
  return { ...(response.body as Omit<TestMerchant, 'hostname'>), hostname: body.hostname };
}
