import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { withTimeout } from './ws-client.js';

/** A raw TCP connection that records what the server sent and when it ended the connection. */
export interface RawConnection {
  socket: Socket;
  received(): Buffer;
  /** Resolves when the server (or the network) ended the connection. */
  closed: Promise<void>;
}

export function rawConnect(port: number): Promise<RawConnection> {
  const socket = connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const connected = new Promise<RawConnection>((resolve, reject) => {
    socket.once('connect', () =>
      resolve({ socket, received: () => Buffer.concat(chunks), closed }),
    );
    socket.once('error', reject);
  });
  return withTimeout(connected, 10_000, 'a TCP connection');
}

/** A well-formed WebSocket upgrade request for `path`. */
export function upgradeRequest(path: string, extraHeaders = ''): string {
  return (
    `GET ${path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n` +
    `${extraHeaders}\r\n`
  );
}

/**
 * Upgrades over a raw socket and resolves once the 101 arrived: from then on the test writes
 * frames by hand (or nothing at all, like a peer that never answers a close frame).
 */
export async function rawWebSocket(port: number, path: string): Promise<RawConnection> {
  const connection = await rawConnect(port);
  connection.socket.write(upgradeRequest(path));
  const upgraded = new Promise<void>((resolve, reject) => {
    const check = () => {
      const text = connection.received().toString('latin1');
      if (text.includes('\r\n\r\n')) {
        connection.socket.off('data', check);
        if (text.startsWith('HTTP/1.1 101')) resolve();
        else reject(new Error(`upgrade refused: ${text.split('\r\n')[0]}`));
      }
    };
    connection.socket.on('data', check);
  });
  await withTimeout(upgraded, 10_000, 'the 101 answer');
  return connection;
}

/**
 * A client frame (clients must mask). `opcode` 1 text, 2 binary, 8 close, 9 ping, 10 pong;
 * `fin` false leaves a message unfinished. Lengths use the 16- or 64-bit forms as needed.
 */
export function clientFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  const mask = randomBytes(4);
  const length = payload.length;
  let header: Buffer;
  if (length < 126) {
    header = Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | length]);
  } else if (length < 65_536) {
    header = Buffer.alloc(4);
    header[0] = (fin ? 0x80 : 0) | opcode;
    header[1] = 0x80 | 126;
    header.writeUInt16BE(length, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = (fin ? 0x80 : 0) | opcode;
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  const masked = Buffer.alloc(length);
  for (let i = 0; i < length; i++) masked[i] = (payload[i] ?? 0) ^ (mask[i % 4] ?? 0);
  return Buffer.concat([header, mask, masked]);
}
