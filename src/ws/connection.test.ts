import { EventEmitter } from 'node:events';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { WebSocket } from 'ws';
import { createMetrics } from '../metrics/index.js';
import { Connection } from './connection.js';

/** The parts of a ws WebSocket a Connection uses, with a send buffer the test controls. */
class FakeWs extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  bufferedAmount = 0;
  readonly sent: string[] = [];
  pings = 0;
  closedWith: [number, string] | undefined;
  terminated = false;
  send(frame: string): void {
    this.sent.push(frame);
  }
  close(code: number, reason: string): void {
    this.closedWith = [code, reason];
    this.readyState = 2;
  }
  ping(): void {
    this.pings++;
  }
  terminate(): void {
    this.terminated = true;
    this.readyState = 2;
  }
}

const POLICY = { maxBufferedBytes: 1000, maxClientFramesPerWindow: 3, clientFrameWindowMs: 10_000 };

function connection() {
  const ws = new FakeWs();
  const metrics = createMetrics({
    openSockets: () => 0,
    socketsByState: () => ({ loading: 0, live: 0 }),
    indexer: () => undefined,
  });
  const closed = vi.fn();
  const socket = new Connection(
    ws as unknown as WebSocket,
    POLICY,
    metrics,
    pino({ level: 'silent' }),
    closed,
  );
  return { ws, socket, metrics, closed };
}

describe('Connection', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  describe('backpressure', () => {
    it('sends while the buffer is at most maxBufferedBytes', () => {
      const { ws, socket } = connection();
      ws.bufferedAmount = 1000;
      socket.send('{"type":"status"}');
      expect(ws.sent).toEqual(['{"type":"status"}']);
      expect(ws.closedWith).toBeUndefined();
    });

    it('drops the frame and closes with 1013 when a send finds more than maxBufferedBytes queued', () => {
      const { ws, socket } = connection();
      ws.bufferedAmount = 1001;
      socket.send('{"type":"status"}');
      expect(ws.sent).toEqual([]);
      expect(ws.closedWith).toEqual([1013, 'Reading too slowly']);
      socket.send('{"type":"status"}');
      expect(ws.sent).toEqual([]); // nothing is queued once closing
    });
  });

  describe('heartbeat', () => {
    it('pings, and terminates at the next sweep when no pong came back', () => {
      const { ws, socket, metrics } = connection();
      expect(socket.heartbeat()).toBe(true);
      expect(ws.pings).toBe(1);
      ws.emit('pong');
      expect(socket.heartbeat()).toBe(true);
      expect(ws.pings).toBe(2);
      expect(socket.heartbeat()).toBe(false);
      expect(ws.terminated).toBe(true);
      expect(socket.heartbeat()).toBe(true); // counted once
      ws.emit('close', 1006);
      return expect(
        metrics.wsCloses.get().then(({ values }) => values.map((v) => [v.labels.code, v.value])),
      ).resolves.toEqual([['1006', 1]]);
    });

    it('terminates a socket stuck closing since the previous sweep, keeping its close code', async () => {
      const { ws, socket, metrics, closed } = connection();
      socket.close(1013, 'Reading too slowly');
      socket.heartbeat(); // no ping: not open
      expect(ws.pings).toBe(0);
      expect(socket.heartbeat()).toBe(false);
      ws.emit('close', 1006);
      const { values } = await metrics.wsCloses.get();
      expect(values.map((v) => [v.labels.code, v.value])).toEqual([['1013', 1]]);
      expect(closed).toHaveBeenCalledWith(socket);
    });
  });

  describe('client frames', () => {
    it('closes with 1008 after an error message past the limit within one window', () => {
      vi.useFakeTimers();
      const { ws } = connection();
      for (let i = 0; i < 3; i++) ws.emit('message');
      expect(ws.closedWith).toBeUndefined();
      ws.emit('ping');
      expect(ws.sent.map((frame) => JSON.parse(frame) as unknown)).toEqual([
        { type: 'error', message: 'Too many frames: this socket is read-only, send nothing' },
      ]);
      expect(ws.closedWith).toEqual([1008, 'Too many client frames']);
    });

    it('starts counting afresh in the next window', () => {
      vi.useFakeTimers();
      const { ws } = connection();
      for (let i = 0; i < 3; i++) ws.emit('message');
      vi.advanceTimersByTime(10_000);
      for (let i = 0; i < 3; i++) ws.emit('message');
      expect(ws.closedWith).toBeUndefined();
    });
  });

  it('counts sent messages by type without parsing them', () => {
    const { socket, metrics } = connection();
    socket.send('{"type":"status","version":1}');
    socket.send('{"type":"settlement","version":2}');
    socket.reject(4429, 'Too many', 'Too many connections');
    expect(metrics.messagesSent).toEqual({ status: 1, settlement: 1, error: 1 });
  });
});
