import { Duplex } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Frame } from '../hub/index.js';
import { createMetrics } from '../metrics/index.js';
import { DeferredCloses } from './closes.js';
import { Connection } from './connection.js';

const POLICY = { maxBufferedBytes: 1000, maxClientFramesPerWindow: 3, clientFrameWindowMs: 10_000 };

const status = () =>
  Frame.of({
    type: 'status',
    transactionId: 't',
    status: 'pending',
    suiTxDigest: null,
    version: 1,
    pushedAt: 'now',
  });

/** A frame as a client sends it: masked (here with a zero mask, which leaves the payload). */
function clientFrame(opcode: number, payload = ''): Buffer {
  const data = Buffer.from(payload);
  return Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | data.length, 0, 0, 0, 0]), data]);
}

/** The server frames written so far: [opcode, payload text]. */
function framesIn(bytes: Buffer): [number, string][] {
  const frames: [number, string][] = [];
  for (let offset = 0; offset < bytes.length;) {
    const opcode = (bytes[offset] as number) & 0x0f;
    const length = (bytes[offset + 1] as number) & 0x7f; // test frames are short
    const payload = bytes.subarray(offset + 2, offset + 2 + length);
    frames.push([
      opcode,
      opcode === 8 ? `${payload.readUInt16BE(0)} ${payload.subarray(2)}` : String(payload),
    ]);
    offset += 2 + length;
  }
  return frames;
}

/**
 * A real ws WebSocket (a Connection) over an in-memory stream standing in for the TCP socket:
 * what the server writes is collected, and what a client would send is pushed in.
 */
function connection(closes = new DeferredCloses()) {
  const written: Buffer[] = [];
  const stream = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, done) {
      written.push(chunk);
      done();
    },
  });
  // As ws's server builds it: new WebSocket(null, undefined, serverOptions).
  const Server = Connection as unknown as new (a: null, p: undefined, o: object) => Connection;
  const socket = new Server(null, undefined, { autoPong: true });
  (socket as unknown as { setSocket(...args: unknown[]): void }).setSocket(
    stream,
    Buffer.alloc(0),
    {
      maxPayload: 128,
      skipUTF8Validation: false,
      allowSynchronousEvents: true,
    },
  );
  const metrics = createMetrics({
    openSockets: () => 0,
    socketsByState: () => ({ loading: 0, live: 0 }),
    preloadedTransactions: () => 0,
    indexer: () => undefined,
  });
  const closed = vi.fn();
  socket.attach({
    policy: POLICY,
    metrics,
    logger: pino({ level: 'silent' }),
    onClosed: closed,
    closes,
  });
  return {
    socket,
    stream,
    metrics,
    closed,
    frames: () => framesIn(Buffer.concat(written)),
    /** A frame from the client, once ws has read it. */
    receive: async (frame: Buffer) => {
      stream.push(frame);
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

const closeCodes = async (metrics: ReturnType<typeof connection>['metrics']) =>
  (await metrics.wsCloses.get()).values.map((v) => [v.labels.code, v.value]);

describe('Connection', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  describe('backpressure', () => {
    it('sends while the buffer is at most maxBufferedBytes', () => {
      const { socket, frames } = connection();
      Object.defineProperty(socket, 'bufferedAmount', { value: 1000 });
      socket.sendFrame(status());
      expect(frames()).toEqual([[1, status().text]]);
    });

    it('drops the frame and closes with 1013 when a send finds more than maxBufferedBytes queued', () => {
      const { socket, frames } = connection();
      Object.defineProperty(socket, 'bufferedAmount', { value: 1001 });
      socket.sendFrame(status());
      expect(frames()).toEqual([[8, '1013 Reading too slowly']]);
      socket.sendFrame(status());
      expect(frames()).toHaveLength(1); // nothing is queued once closing
    });
  });

  describe('final frames', () => {
    const CLOSE = [8, '1000 Transaction settled'];
    // Timers and performance.now() faked: the close waits for a burst to be over.
    afterEach(() => vi.useRealTimers());
    const fakeClock = () =>
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });

    it('go out at once; their close frames once none was sent for 50 ms', () => {
      fakeClock();
      const closes = new DeferredCloses();
      const first = connection(closes);
      const second = connection(closes);
      first.socket.sendFinalFrame(status(), 1000, 'Transaction settled');
      expect(first.frames()).toEqual([[1, status().text]]);
      vi.advanceTimersByTime(40);
      second.socket.sendFinalFrame(status(), 1000, 'Transaction settled');
      expect(second.frames()).toEqual([[1, status().text]]);
      vi.advanceTimersByTime(40); // 80 ms after the first, 40 after the second: still open
      expect(first.frames()).toHaveLength(1);
      vi.advanceTimersByTime(10);
      expect(first.frames()).toEqual([[1, status().text], CLOSE]);
      expect(second.frames()).toEqual([[1, status().text], CLOSE]);
    });

    it('close within a second of the first however long the burst goes on', () => {
      fakeClock();
      const closes = new DeferredCloses();
      const first = connection(closes);
      first.socket.sendFinalFrame(status(), 1000, 'Transaction settled');
      const others = Array.from({ length: 30 }, () => connection(closes));
      let elapsed = 0;
      for (const other of others) {
        vi.advanceTimersByTime(40);
        elapsed += 40;
        other.socket.sendFinalFrame(status(), 1000, 'Transaction settled');
        if (first.frames().length === 2) break;
      }
      expect(first.frames()).toEqual([[1, status().text], CLOSE]);
      expect(elapsed).toBeGreaterThanOrEqual(1000);
      expect(elapsed).toBeLessThanOrEqual(1080);
    });
    it("wait in their endpoint's queue: a node flushing its closes leaves another's alone", () => {
      fakeClock();
      const mine = new DeferredCloses();
      const theirs = new DeferredCloses();
      const first = connection(mine);
      const second = connection(theirs);
      first.socket.sendFinalFrame(status(), 1000, 'Transaction settled');
      second.socket.sendFinalFrame(status(), 1000, 'Transaction settled');
      mine.flush(); // what a node shutting down does
      expect(first.frames()).toEqual([[1, status().text], CLOSE]);
      expect(second.frames()).toEqual([[1, status().text]]);
      vi.advanceTimersByTime(50);
      expect(second.frames()).toEqual([[1, status().text], CLOSE]);
    });
  });

  describe('heartbeat', () => {
    it('pings, and terminates at the next visit when no pong came back', async () => {
      const { socket, stream, metrics, frames, receive, closed } = connection();
      expect(socket.heartbeat(1, 1)).toBe(true);
      await receive(clientFrame(0xa));
      expect(socket.heartbeat(2, 1)).toBe(true);
      expect(frames().filter(([opcode]) => opcode === 9)).toHaveLength(2);
      expect(socket.heartbeat(3, 1)).toBe(false);
      expect(stream.destroyed).toBe(true);
      expect(socket.heartbeat(4, 1)).toBe(true); // counted once
      await vi.waitFor(() => expect(closed).toHaveBeenCalledWith(socket));
      expect(await closeCodes(metrics)).toEqual([['1006', 1]]);
    });

    it('gives an unanswered ping its patience before terminating, and pings no more meanwhile', async () => {
      const { socket, stream, frames, receive } = connection();
      expect(socket.heartbeat(10, 5)).toBe(true);
      // Visited again too soon (other sockets closed): left alone, no second ping.
      expect(socket.heartbeat(12, 5)).toBe(true);
      expect(socket.heartbeat(14, 5)).toBe(true);
      expect(frames().filter(([opcode]) => opcode === 9)).toHaveLength(1);
      expect(stream.destroyed).toBe(false);
      // The pong arrives in time: the next visit pings again.
      await receive(clientFrame(0xa));
      expect(socket.heartbeat(15, 5)).toBe(true);
      expect(frames().filter(([opcode]) => opcode === 9)).toHaveLength(2);
      expect(socket.heartbeat(19, 5)).toBe(true);
      expect(socket.heartbeat(20, 5)).toBe(false);
      expect(stream.destroyed).toBe(true);
    });

    it('terminates a socket stuck closing since the previous visit, keeping its close code', async () => {
      const { socket, metrics, frames, closed } = connection();
      socket.closeWith(1013, 'Reading too slowly');
      socket.heartbeat(1, 1); // no ping: not open
      expect(frames().filter(([opcode]) => opcode === 9)).toHaveLength(0);
      expect(socket.heartbeat(2, 1)).toBe(false);
      await vi.waitFor(() => expect(closed).toHaveBeenCalledWith(socket));
      expect(await closeCodes(metrics)).toEqual([['1013', 1]]);
    });
  });

  describe('client frames', () => {
    it('closes with 1008 after an error message past the limit within one window', async () => {
      const { frames, receive } = connection();
      for (let i = 0; i < 3; i++) await receive(clientFrame(0x1, 'hi'));
      expect(frames()).toEqual([]);
      await receive(clientFrame(0x9));
      expect(frames()).toEqual([
        [10, ''], // ws answers the ping itself
        [1, '{"type":"error","message":"Too many frames: this socket is read-only, send nothing"}'],
        [8, '1008 Too many client frames'],
      ]);
    });

    it('starts counting afresh in the next window', async () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      const { frames, receive } = connection();
      for (let i = 0; i < 3; i++) await receive(clientFrame(0x1, 'hi'));
      vi.advanceTimersByTime(10_000);
      for (let i = 0; i < 3; i++) await receive(clientFrame(0x1, 'hi'));
      expect(frames()).toEqual([]);
    });
  });

  it('counts sent messages by type without parsing them', () => {
    const { socket, metrics } = connection();
    socket.sendFrame(status());
    socket.sendFrame(new Frame('settlement', '{"type":"settlement","version":2}'));
    socket.reject(4429, 'Too many', 'Too many connections');
    expect(metrics.messagesSent).toEqual({ status: 1, settlement: 1, error: 1 });
  });

  it('writes each frame once for every socket it goes to', () => {
    const [a, b] = [connection(), connection()];
    const frame = status();
    a.socket.sendFrame(frame);
    const encoded = frame.encoded;
    b.socket.sendFrame(frame);
    expect(frame.encoded).toBe(encoded);
    expect(b.frames()).toEqual(a.frames());
  });
});
