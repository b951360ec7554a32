/**
 * A minimal WebSocket client for the load generator: a fixed upgrade request on a plain TCP
 * socket, then server frames parsed by hand. A full client (ws) spends more CPU per connect than
 * the servers under test do per accept (key generation, accept-hash check, per-socket
 * machinery); on a two-core machine the generator would set the pace instead of the server.
 *
 * Enough of RFC 6455 for read-only status sockets: text frames in, pings answered with masked
 * pongs (so heartbeats keep the socket), a close frame ends it. No extensions, no fragmentation
 * (status messages are single small frames).
 */
import { connect, type Socket } from 'node:net';

export interface ClientEvents {
  onMessage(text: string): void;
  /** The socket ended: `code` from the server's close frame, or undefined. */
  onClose(code: number | undefined, error?: string): void;
}

// Any key will do: the server only hashes it back (and this client does not check the answer).
const KEY = 'YmVuY2hiZW5jaGJlbmNoYg==';
const HEADER_END = Buffer.from('\r\n\r\n');
const PONG_HEADER = Buffer.from([0x8a, 0x80]);
const ZERO_MASK = Buffer.alloc(4);

export class MiniClient {
  private socket: Socket;
  private pending: Buffer | undefined;
  private upgraded = false;
  private ended = false;

  /**
   * `localPort`: binding with port 0 makes the kernel search for a free port, which takes
   * longer the more sockets are bound (milliseconds per connect at 10,000): the generator picks
   * ports itself, and the kernel's choice is the fallback when one is taken.
   */
  constructor(
    private readonly url: URL,
    local: { address: string; port: number | undefined },
    private readonly events: ClientEvents,
  ) {
    this.socket = this.open(local);
  }

  private open(local: { address: string; port: number | undefined }): Socket {
    const socket = connect({
      host: this.url.hostname,
      port: Number(this.url.port),
      localAddress: local.address,
      localPort: local.port,
    });
    socket.setNoDelay(true);
    socket.on('connect', () => {
      socket.write(
        `GET ${this.url.pathname}${this.url.search} HTTP/1.1\r\nHost: ${this.url.host}\r\n` +
          'Upgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error: Error & { code?: string }) => {
      if (error.code === 'EADDRINUSE' && local.port !== undefined && !this.ended) {
        socket.removeAllListeners('close');
        this.socket = this.open({ address: local.address, port: undefined });
        return;
      }
      this.end(undefined, error.code);
    });
    socket.on('close', () => this.end(undefined));
    return socket;
  }

  terminate(): void {
    this.ended = true;
    this.socket.destroy();
  }

  private end(code: number | undefined, error?: string): void {
    if (this.ended) return;
    this.ended = true;
    this.socket.destroy();
    this.events.onClose(code, error);
  }

  private onData(chunk: Buffer): void {
    let data = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    if (!this.upgraded) {
      const headerEnd = data.indexOf(HEADER_END);
      if (headerEnd === -1) {
        this.pending = data;
        return;
      }
      const statusLine = data.subarray(0, data.indexOf('\r\n')).toString('latin1');
      if (!statusLine.startsWith('HTTP/1.1 101')) return this.end(undefined, statusLine);
      this.upgraded = true;
      data = data.subarray(headerEnd + HEADER_END.length);
    }
    let offset = 0;
    while (!this.ended) {
      if (data.length - offset < 2) break;
      const opcode = (data[offset] as number) & 0x0f;
      let length = (data[offset + 1] as number) & 0x7f;
      let header = 2;
      if (length === 126) {
        if (data.length - offset < 4) break;
        length = data.readUInt16BE(offset + 2);
        header = 4;
      } else if (length === 127) {
        if (data.length - offset < 10) break;
        length = Number(data.readBigUInt64BE(offset + 2));
        header = 10;
      }
      if (data.length - offset < header + length) break;
      const payload = data.subarray(offset + header, offset + header + length);
      offset += header + length;
      if (opcode === 0x1) this.events.onMessage(payload.toString('utf8'));
      else if (opcode === 0x9) this.pong(payload);
      else if (opcode === 0x8) this.closedByServer(payload);
    }
    if (offset < data.length && !this.ended) this.pending = Buffer.from(data.subarray(offset));
  }

  /**
   * Answers the server's close frame and ends, on a later turn: a burst of final messages, each
   * followed by a close, is read (and timed) before any socket's teardown costs a system call.
   */
  private closedByServer(payload: Buffer): void {
    const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
    this.ended = true;
    setImmediate(() => {
      const header = Buffer.from([0x88, 0x82]);
      this.socket.end(Buffer.concat([header, ZERO_MASK, payload.subarray(0, 2)]));
      this.events.onClose(code);
    });
  }

  /** Client frames must be masked; an all-zero mask leaves the payload as it is. */
  private pong(payload: Buffer): void {
    const header = Buffer.from(PONG_HEADER);
    header[1] = 0x80 | payload.length;
    this.socket.write(Buffer.concat([header, ZERO_MASK, payload]));
  }
}
