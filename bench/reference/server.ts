/**
 * The seed's reference design, minimal and faithful, for `npm run bench -- compare`: one
 * `Map<txId, Set<socket>>` on `ws`, the current status sent on connect, a settlement pushed to
 * every socket of its transaction. Statuses live in an in-memory map instead of a database, so
 * the figures are the design's best case. No heartbeats, limits, ordering or resume: what it
 * lacks is what the service adds.
 *
 * One process is one shard; the bench starts several (each on its own port) past what one
 * process's open-file limit allows. Bench-only HTTP routes stand in for the rest of the system:
 *
 *   POST /transactions  ["<txId>", …]  creates them, pending
 *   POST /settle        ["<txId>", …]  settles them all at once → {"startedAt": <epoch ms>}
 *
 * Prints `reference listening on http://…` once ready.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

interface Proposal {
  status: 'pending' | 'settled';
  suiTxDigest: string | null;
}

const proposals = new Map<string, Proposal>();
// Map of transactionId -> set of WebSocket connections, as in the seed's ws/status.ts.
const connections = new Map<string, Set<WebSocket>>();

function handleWsConnection(txId: string, ws: WebSocket): () => void {
  let set = connections.get(txId);
  if (!set) {
    set = new Set();
    connections.set(txId, set);
  }
  set.add(ws);
  sendCurrentStatus(txId, ws);
  return () => {
    const current = connections.get(txId);
    if (!current) return;
    current.delete(ws);
    if (current.size === 0) connections.delete(txId);
  };
}

function sendCurrentStatus(txId: string, ws: WebSocket): void {
  const proposal = proposals.get(txId);
  ws.send(
    JSON.stringify(
      proposal
        ? { type: 'status', transactionId: txId, ...proposal }
        : { type: 'error', message: 'Transaction not found' },
    ),
  );
}

function pushSettlementUpdate(txId: string, status: string, suiTxDigest: string): void {
  const set = connections.get(txId);
  if (!set) return;
  const message = JSON.stringify({ type: 'settlement', transactionId: txId, status, suiTxDigest });
  for (const ws of set) {
    try {
      ws.send(message);
    } catch {
      set.delete(ws);
    }
  }
}

async function readIds(request: IncomingMessage): Promise<string[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of request as AsyncIterable<Buffer>) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as string[];
}

async function handle(request: IncomingMessage, response: ServerResponse): Promise<unknown> {
  if (request.method === 'POST' && request.url === '/transactions') {
    for (const id of await readIds(request)) {
      proposals.set(id, { status: 'pending', suiTxDigest: null });
    }
    return {};
  }
  if (request.method === 'POST' && request.url === '/settle') {
    const ids = await readIds(request);
    const startedAt = Date.now();
    for (const id of ids) {
      const digest = randomBytes(32).toString('base64url');
      proposals.set(id, { status: 'settled', suiTxDigest: digest });
      pushSettlementUpdate(id, 'settled', digest);
    }
    return { startedAt };
  }
  response.statusCode = 404;
  return { error: 'not found' };
}

const server = createServer((request, response) => {
  handle(request, response).then(
    (body) => response.end(JSON.stringify(body)),
    (error: unknown) => {
      response.statusCode = 500;
      response.end(JSON.stringify({ error: String(error) }));
    },
  );
});

const wss = new WebSocketServer({ server });
wss.on('connection', (ws, request) => {
  const match = /^\/ws\/transactions\/([^/?]+)/.exec(request.url ?? '');
  if (!match?.[1]) {
    ws.close(1008, 'Unknown path');
    return;
  }
  const cleanup = handleWsConnection(match[1], ws);
  ws.on('close', cleanup);
  ws.on('error', cleanup);
});

server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  console.log(`reference listening on http://127.0.0.1:${port}`);
});

// A clean exit on SIGTERM (profiles taken with --cpu-prof are written on exit).
process.once('SIGTERM', () => process.exit(0));
