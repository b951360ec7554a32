/**
 * Issue 5, "Done means": malformed paths, headers, upgrade requests and frames thrown at a real
 * in-process node over raw TCP. Bounded: 3 kinds × INPUTS_PER_BURST inputs, each burst run twice
 * (1,500 inputs in all). After every burst a normal request and a normal socket still work; the
 * heap after the second, identical burst is not larger than after the first (no leak per input).
 * The seed is printed; FUZZ_SEED=<n> replays a run.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricValue } from './support/metrics.js';
import { createProposal, startTestNode, type TestNode } from './support/node.js';
import { clientFrame, rawConnect, rawWebSocket } from './support/raw.js';
import { withTimeout } from './support/ws-client.js';

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Date.now() % 2 ** 31;
const INPUTS_PER_BURST = 250;
const CONCURRENCY = 25;
/** Retained heap allowed to grow between two identical bursts (GC noise, JIT, caches). */
const HEAP_GROWTH_BOUND_BYTES = 8 * 1024 * 1024;

/** `gc()` without --expose-gc: the flag can be set at run time and the function fetched fresh. */
function collector(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'HEAD', 'PATCH', 'BREW', 'G\x00T', ''];
const PATH_PARTS = [
  '/ws/transactions/',
  '/api/identipay/v1/',
  '/metrics',
  '/health',
  '/ready',
  '%',
  '%C3%28',
  '%FF%FE',
  '\x80\xff',
  '..',
  '//',
  '?since=',
  '?since=-1',
  '?since=99999999999999999999',
  '#',
  '\u0000',
  ' ',
];

/** Raw bytes of an HTTP/1.1-looking request: the kind a broken or hostile client sends. */
function httpInput(txId: string): fc.Arbitrary<Buffer> {
  const path = fc
    .array(fc.oneof(fc.constantFrom(...PATH_PARTS, txId), fc.string({ maxLength: 12 })), {
      maxLength: 6,
    })
    .map((parts) => parts.join(''));
  const header = fc.oneof(
    fc.tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 40 })),
    fc.tuple(
      fc.constantFrom(
        'Upgrade',
        'Connection',
        'Sec-WebSocket-Key',
        'Sec-WebSocket-Version',
        'Content-Length',
        'Transfer-Encoding',
        'Origin',
        'X-Forwarded-For',
        'Authorization',
        'Content-Type',
      ),
      fc.oneof(
        fc.constantFrom('websocket', 'Upgrade', '13', '8', '-1', 'chunked', 'Bearer x', ''),
        fc.string({ maxLength: 30 }),
      ),
    ),
    fc.nat({ max: 80_000 }).map((size) => ['X-Huge', 'a'.repeat(size)] as [string, string]),
  );
  const request = fc
    .record({
      method: fc.oneof(fc.constantFrom(...METHODS), fc.string({ maxLength: 8 })),
      path,
      headers: fc.array(header, { maxLength: 8 }),
      upgrade: fc.boolean(),
      body: fc.string({ maxLength: 64 }),
      cut: fc.option(fc.nat(), { nil: undefined }),
    })
    .map(({ method, path: target, headers, upgrade, body, cut }) => {
      const text =
        `${method} ${target} HTTP/1.1\r\nHost: localhost\r\n` +
        (upgrade ? 'Upgrade: websocket\r\nConnection: Upgrade\r\n' : '') +
        headers.map(([name, value]) => `${name}: ${value}\r\n`).join('') +
        `\r\n${body}`;
      const bytes = Buffer.from(text, 'latin1');
      // Truncated requests: the connection ends mid-way.
      return cut === undefined ? bytes : bytes.subarray(0, cut % (bytes.length + 1));
    });
  return fc.oneof(
    request,
    fc.uint8Array({ maxLength: 512 }).map((bytes) => Buffer.from(bytes)),
  );
}

/** Upgrade requests with broken handshakes. */
function upgradeInput(txId: string): fc.Arbitrary<Buffer> {
  return fc
    .record({
      path: fc.constantFrom(
        `/ws/transactions/${txId}`,
        `/ws/transactions/${txId}?since=0`,
        `/ws/transactions/${txId}?since=abc`,
        '/ws/transactions/not-a-uuid',
        '/ws/transactions/%E0%A4%A',
        '/ws/other',
      ),
      key: fc.oneof(
        fc.constantFrom('', 'short', '!!!!!!!!!!!!!!!!!!!!!!!!', 'a'.repeat(10_000)),
        fc.base64String({ maxLength: 40 }),
      ),
      version: fc.constantFrom('13', '8', '', 'x', '13, 8'),
      extra: fc.constantFrom(
        '',
        'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n',
        'Sec-WebSocket-Protocol: a, a, ,\r\n',
        'Origin: null\r\n',
      ),
    })
    .map(({ path, key, version, extra }) =>
      Buffer.from(
        `GET ${path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: ${version}\r\n${extra}\r\n`,
        'latin1',
      ),
    );
}

/** Frames sent after a valid upgrade: bad opcodes, control frames, oversized, truncated. */
const frameInput: fc.Arbitrary<Buffer[]> = fc.array(
  fc.oneof(
    fc
      .record({
        opcode: fc.nat({ max: 15 }),
        payload: fc.uint8Array({ maxLength: 300 }),
        fin: fc.boolean(),
      })
      .map(({ opcode, payload, fin }) => clientFrame(opcode, Buffer.from(payload), fin)),
    // Close frames with odd codes and reasons (invalid UTF-8 included).
    fc.tuple(fc.nat({ max: 65_535 }), fc.uint8Array({ maxLength: 40 })).map(([code, reason]) => {
      const payload = Buffer.alloc(2 + reason.length);
      payload.writeUInt16BE(code, 0);
      Buffer.from(reason).copy(payload, 2);
      return clientFrame(8, payload);
    }),
    // A text frame far above maxPayload, and one that only declares a huge length.
    fc.constant(clientFrame(1, Buffer.alloc(70_000, 0x61))),
    fc.constant(Buffer.from([0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])),
    // Unmasked and truncated frames.
    fc.constant(Buffer.from([0x81, 0x05, 0x68, 0x65])),
    fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
  ),
  { minLength: 1, maxLength: 6 },
);

/** Writes `input`, half-closes, and waits (bounded) for the server to end the connection. */
async function sendRaw(port: number, chunks: Buffer[]): Promise<void> {
  const connection = await rawConnect(port);
  for (const chunk of chunks) connection.socket.write(chunk);
  connection.socket.end();
  await withTimeout(connection.closed, 3_000, 'the server to end the connection').catch(() =>
    connection.socket.destroy(),
  );
}

async function sendFrames(port: number, txId: string, frames: Buffer[]): Promise<void> {
  const connection = await rawWebSocket(port, `/ws/transactions/${txId}`);
  for (const frame of frames) connection.socket.write(frame);
  connection.socket.end();
  await withTimeout(connection.closed, 3_000, 'the server to end the socket').catch(() =>
    connection.socket.destroy(),
  );
}

async function inBatches<T>(items: T[], run: (item: T) => Promise<void>): Promise<void> {
  for (let start = 0; start < items.length; start += CONCURRENCY) {
    await Promise.all(items.slice(start, start + CONCURRENCY).map(run));
  }
}

describe('fuzzing the HTTP and WebSocket endpoints', () => {
  let node: TestNode;
  let txId = '';
  const gc = collector();

  beforeAll(async () => {
    console.log(`fuzz seed ${SEED} (replay with FUZZ_SEED=${SEED})`);
    node = await startTestNode({
      WS_UPGRADES_PER_MINUTE_PER_IP: '0',
      WS_MAX_SOCKETS_PER_TRANSACTION: '1000',
      REST_REQUESTS_PER_MINUTE_PER_IP: '0',
      REST_REQUESTS_PER_MINUTE_PER_KEY: '0',
      HTTP_HEADERS_TIMEOUT_MS: '2000',
      HTTP_REQUEST_TIMEOUT_MS: '2000',
    });
    txId = await createProposal(node);
  });
  afterAll(async () => {
    await node.stop();
  });

  /** A normal request and a normal socket still work. */
  async function expectServing(): Promise<void> {
    expect((await node.api('GET', '/health')).status).toBe(200);
    const socket = node.watch(txId);
    expect(await socket.next()).toMatchObject({ type: 'status', status: 'pending' });
    socket.close();
    await socket.closeEvent();
  }

  const bursts = () => {
    const http = fc.sample(httpInput(txId), { seed: SEED, numRuns: INPUTS_PER_BURST });
    const upgrades = fc.sample(upgradeInput(txId), { seed: SEED + 1, numRuns: INPUTS_PER_BURST });
    const frames = fc.sample(frameInput, { seed: SEED + 2, numRuns: INPUTS_PER_BURST });
    return [
      () => inBatches(http, (input) => sendRaw(node.port, [input])),
      () => inBatches(upgrades, (input) => sendRaw(node.port, [input])),
      () => inBatches(frames, (input) => sendFrames(node.port, txId, input)),
    ];
  };

  const heapAfterGc = () => {
    // The test harness keeps every log line the node wrote: test memory, not the server's.
    node.logs.splice(0);
    gc();
    gc();
    return process.memoryUsage().heapUsed;
  };

  it('stays up through every burst and holds no memory per input', async () => {
    const rounds: number[] = [];
    for (let round = 0; round < 2; round++) {
      for (const burst of bursts()) {
        await burst();
        await expectServing();
      }
      rounds.push(heapAfterGc());
    }
    const [first = 0, second = 0] = rounds;
    console.log(`heap after round 1: ${first} B, after round 2: ${second} B`);
    expect(second - first).toBeLessThan(HEAP_GROWTH_BOUND_BYTES);
    // Every connection the fuzz opened has been released.
    expect(node.webSocket.counts()).toMatchObject({ sockets: 0, addressSlots: 0 });
    expect(node.hub.openSockets).toBe(0);
    // The inputs reached the code under test: protocol errors and oversized frames were seen.
    for (const code of ['1002', '1009'])
      expect(await metricValue(node, 'identipay_ws_closes_total', { code })).toBeGreaterThan(0);
    expect(
      await metricValue(node, 'identipay_ws_connects_rejected_total', { reason: 'path' }),
    ).toBeGreaterThan(0);
  }, 60_000);
});
