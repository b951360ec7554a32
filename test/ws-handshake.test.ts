import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API } from './support/http.js';
import { ensureBuilt, spawnService, type ServiceProcess } from './support/process.js';
import { rawConnect, upgradeRequest } from './support/raw.js';
import { withTimeout } from './support/ws-client.js';

/** The first bytes the server sends after the upgrade request, as one read gets them. */
async function firstChunk(port: number, wsPath: string): Promise<string> {
  const connection = await rawConnect(port);
  const first = new Promise<string>((resolve) =>
    connection.socket.once('data', (chunk: Buffer) => resolve(chunk.toString('latin1'))),
  );
  connection.socket.write(upgradeRequest(wsPath));
  try {
    return await withTimeout(first, 10_000, 'the first bytes');
  } finally {
    connection.socket.destroy();
    await connection.closed;
  }
}

/** The JSON of the unmasked text frame right after the 101 response's headers. */
function frameAfterHeaders(chunk: string): unknown {
  const frame = Buffer.from(chunk.slice(chunk.indexOf('\r\n\r\n') + 4), 'latin1');
  expect(frame[0]).toBe(0x81);
  const [offset, length] = frame[1] === 126 ? [4, frame.readUInt16BE(2)] : [2, frame[1] ?? 0];
  return JSON.parse(frame.subarray(offset, offset + length).toString('utf8'));
}

// The service in a process of its own: in-process, the test's reads would only run once the
// server had written everything, and would see one chunk however many writes it made.
describe('the WebSocket handshake on the wire', () => {
  let service: ServiceProcess;
  let port: number;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'identipay-handshake-'));

  beforeAll(async () => {
    ensureBuilt();
    service = await spawnService({ DATA_DIR: dataDir });
    port = Number(new URL(service.url).port);
  }, 60_000);
  afterAll(async () => {
    service?.child.kill('SIGTERM');
    await service?.exited;
    rmSync(dataDir, { recursive: true, force: true });
  });

  const createProposal = async () => {
    const response = await fetch(`${service.url}${API}/proposals`, {
      method: 'POST',
      headers: { authorization: `Bearer ${service.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        items: [{ name: 'Tea', quantity: 1, unitPrice: '1.00' }],
        amount: { value: '1.00', currency: 'USDC' },
        deliverables: { receipt: true },
      }),
    });
    expect(response.status).toBe(201);
    return ((await response.json()) as { transactionId: string }).transactionId;
  };

  it('sends the 101 response and the first status in one write, also when it reads the status first', async () => {
    const txId = await createProposal();
    const first = await firstChunk(port, `/ws/transactions/${txId}`);
    expect(first).toMatch(/^HTTP\/1\.1 101 /);
    expect(frameAfterHeaders(first)).toMatchObject({
      type: 'status',
      transactionId: txId,
      status: 'pending',
      version: 1,
    });
  });

  it('sends the 101 response at once to a resume that is up to date (no first status is due)', async () => {
    const txId = await createProposal();
    const first = await firstChunk(port, `/ws/transactions/${txId}?since=1`);
    expect(first).toMatch(/^HTTP\/1\.1 101 [^]*\r\n\r\n$/);
  });
});
