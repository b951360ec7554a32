/**
 * A complete unmasked WebSocket text frame (RFC 6455 §5.2: FIN, opcode 1, payload length) as a
 * server sends it. The same bytes go to every socket, so a message is framed once.
 */
export function encodeTextFrame(text: string): Uint8Array {
  const length = Buffer.byteLength(text);
  const header = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + length);
  frame[0] = 0x81;
  if (header === 2) {
    frame[1] = length;
  } else if (header === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  frame.write(text, header, 'utf8');
  return frame;
}
