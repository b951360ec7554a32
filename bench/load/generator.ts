/**
 * One load-generator process (spawned with an IPC channel by bench/load/index.ts). It holds at
 * most one process's worth of sockets (the machine caps open files per process), binds each to a
 * 127.0.0.x source address so that many sockets do not exhaust one address's ephemeral ports,
 * and reports timings on the host's clock (epoch milliseconds, sub-millisecond precision):
 *
 *   {connect} ─► opens every socket, `window` in flight ─► {connected: when each got its first message}
 *   {collect} ─► waits for `expected` later messages (or the deadline) ─► {received: when each came}
 *   {close}   ─► terminates every socket and exits
 */
import { MiniClient } from './client.js';
import type { GeneratorReply, GeneratorRequest, Received } from './protocol.js';

const now = () => performance.timeOrigin + performance.now();

const sockets: MiniClient[] = [];
const received: Received[] = [];
let onReceived: (() => void) | undefined;

function send(reply: GeneratorReply): void {
  process.send?.(reply);
}

/** Opens every socket, at most `window` at a time; resolves when each has its first message or failed. */
function connect(request: Extract<GeneratorRequest, { type: 'connect' }>): Promise<void> {
  const { urls, firstIndex, localAddresses, perAddress, firstPort, window } = request;
  const firstMessageMs = new Array<number>(urls.length).fill(Number.NaN);
  const errors = new Map<string, number>();
  let next = 0;
  let inFlight = 0;
  let settled = 0;
  const startedAt = now();
  return new Promise((resolve) => {
    const done = (index: number, error?: string) => {
      if (error !== undefined) errors.set(error, (errors.get(error) ?? 0) + 1);
      inFlight--;
      settled++;
      if (settled === urls.length) {
        send({
          type: 'connected',
          startedAt,
          finishedAt: now(),
          firstMessageMs,
          errors: Object.fromEntries(errors),
        });
        resolve();
        return;
      }
      launch();
    };
    const open = (index: number) => {
      const began = now();
      const socketIndex = firstIndex + index;
      const local = {
        address:
          localAddresses[Math.floor(socketIndex / perAddress) % localAddresses.length] ??
          '127.0.0.1',
        port: firstPort + (socketIndex % perAddress),
      };
      let first = true;
      sockets[socketIndex] = new MiniClient(new URL(urls[index] as string), local, {
        onMessage(text) {
          if (first) {
            first = false;
            firstMessageMs[index] = now() - began;
            done(index);
            return;
          }
          const at = now();
          const message = JSON.parse(text) as Record<string, unknown>;
          received.push({
            socket: socketIndex,
            at,
            type: String(message.type),
            transactionId: String(message.transactionId),
            checkpointTimestamp: (message.checkpointTimestamp as string | undefined) ?? null,
            pushedAt: (message.pushedAt as string | undefined) ?? null,
          });
          onReceived?.();
        },
        onClose(code, error) {
          if (!first) return;
          first = false;
          done(
            index,
            error ?? `closed ${code ?? 'without a close frame'} before the first message`,
          );
        },
      });
    };
    const launch = () => {
      while (inFlight < window && next < urls.length) {
        inFlight++;
        open(next++);
      }
    };
    if (urls.length === 0) {
      send({ type: 'connected', startedAt, finishedAt: now(), firstMessageMs, errors: {} });
      resolve();
      return;
    }
    launch();
  });
}

function collect(expected: number, timeoutMs: number): void {
  const reply = () => {
    clearTimeout(timer);
    onReceived = undefined;
    send({ type: 'received', received: received.splice(0) });
  };
  const timer = setTimeout(reply, timeoutMs);
  onReceived = () => {
    if (received.length >= expected) reply();
  };
  onReceived();
}

process.on('message', (request: GeneratorRequest) => {
  if (request.type === 'connect') void connect(request);
  else if (request.type === 'collect') collect(request.expected, request.timeoutMs);
  else if (request.type === 'close') {
    for (const socket of sockets) socket?.terminate();
    process.exit(0);
  }
});
send({ type: 'ready' });
