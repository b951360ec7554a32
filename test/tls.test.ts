/**
 * Issue 5, item 8: optional TLS served directly. With TLS_CERT_FILE and TLS_KEY_FILE the node
 * serves https and wss on its one port. The certificate is made here with the openssl CLI; without
 * it the suite skips with a printed reason (and fails when CI=true).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ConfigError, loadConfig } from '../src/config/index.js';
import { API } from './support/http.js';
import { SAMPLE_PROPOSAL, demoKey, startTestNode, type TestNode } from './support/node.js';
import { TestSocket } from './support/ws-client.js';

function opensslProblem(): string | undefined {
  const probe = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) return 'the openssl CLI is not available';
  return undefined;
}

const problem = opensslProblem();
if (problem && process.env.CI === 'true') throw new Error(`${problem}; CI requires it`);
if (problem) console.warn(`[skip] TLS suite: ${problem}`);

const dir = mkdtempSync(path.join(tmpdir(), 'identipay-tls-'));
const certFile = path.join(dir, 'cert.pem');
const keyFile = path.join(dir, 'key.pem');

/** A self-signed certificate for localhost and 127.0.0.1, valid one day. */
function makeCertificate(): void {
  const made = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-days',
      '1',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { encoding: 'utf8' },
  );
  if (made.status !== 0) throw new Error(`openssl failed: ${made.stderr}`);
}

interface HttpsResponse {
  status: number;
  body: Record<string, unknown>;
}

function httpsJson(
  url: string,
  ca: Buffer,
  options: { method?: string; key?: string; body?: unknown } = {},
): Promise<HttpsResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (options.key) headers.authorization = `Bearer ${options.key}`;
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    if (payload) headers['content-type'] = 'application/json';
    const outgoing = request(url, { method: options.method ?? 'GET', headers, ca }, (incoming) => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        resolve({
          status: incoming.statusCode ?? 0,
          body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
        });
      });
      incoming.on('error', reject);
    });
    outgoing.on('error', reject);
    outgoing.end(payload);
  });
}

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(problem !== undefined)('TLS served directly', () => {
  let node: TestNode;
  let ca: Buffer;

  beforeAll(async () => {
    makeCertificate();
    ca = readFileSync(certFile);
    node = await startTestNode({ TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile });
  });
  afterAll(async () => {
    await node?.stop();
  });

  it('reports an https:// URL', () => {
    expect(node.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it('serves the REST routes over https', async () => {
    const created = await httpsJson(`${node.url}${API}/proposals`, ca, {
      method: 'POST',
      key: demoKey(node),
      body: SAMPLE_PROPOSAL,
    });
    expect(created.status).toBe(201);
    const txId = created.body.transactionId as string;
    const status = await httpsJson(`${node.url}${API}/transactions/${txId}/status`, ca, {
      key: demoKey(node),
    });
    expect(status).toMatchObject({ status: 200, body: { transactionId: txId, status: 'pending' } });
  });

  it('refuses a client that does not trust the certificate', async () => {
    await expect(httpsJson(`${node.url}/openapi.json`, Buffer.from(''))).rejects.toThrow();
  });

  it('serves wss:// on the same port: a socket receives the status message', async () => {
    const created = await httpsJson(`${node.url}${API}/proposals`, ca, {
      method: 'POST',
      key: demoKey(node),
      body: SAMPLE_PROPOSAL,
    });
    const txId = created.body.transactionId as string;
    const url = node.wsUrl(txId);
    expect(url).toMatch(/^wss:\/\//);
    const socket = new TestSocket(new WebSocket(url, { ca }));
    try {
      await socket.opened;
      expect(await socket.next()).toMatchObject({
        type: 'status',
        transactionId: txId,
        status: 'pending',
        version: 1,
      });
    } finally {
      socket.close();
    }
  });
});

describe('TLS configuration', () => {
  it('needs both files or neither', () => {
    expect(() => loadConfig({ TLS_CERT_FILE: certFile })).toThrow(
      /TLS_KEY_FILE: required with TLS_CERT_FILE/,
    );
    expect(() => loadConfig({ TLS_KEY_FILE: keyFile })).toThrow(
      /TLS_CERT_FILE: required with TLS_KEY_FILE/,
    );
    expect(loadConfig({}).tls).toBeUndefined();
  });

  it('stops start-up on a path it cannot read, naming the variable and the path', () => {
    const missing = path.join(dir, 'missing.pem');
    expect(() => loadConfig({ TLS_CERT_FILE: missing, TLS_KEY_FILE: missing })).toThrow(
      ConfigError,
    );
    expect(() => loadConfig({ TLS_CERT_FILE: missing, TLS_KEY_FILE: missing })).toThrow(
      `TLS_CERT_FILE: cannot read ${missing} (ENOENT)`,
    );
  });

  it('stops start-up on files that are not a certificate and its key', () => {
    const junk = path.join(dir, 'junk.pem');
    writeFileSync(junk, 'not a pem file\n');
    expect(() => loadConfig({ TLS_CERT_FILE: junk, TLS_KEY_FILE: junk })).toThrow(
      /TLS_CERT_FILE, TLS_KEY_FILE: not a PEM certificate and its private key/,
    );
  });
});
