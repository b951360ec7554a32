import { describe, expect, it } from 'vitest';
import * as ws from 'ws';
import { encodeTextFrame } from './frames.js';

interface FrameParser {
  on(event: 'message', listener: (data: Buffer, isBinary: boolean) => void): void;
  on(event: 'error', listener: (error: Error) => void): void;
  write(chunk: Buffer): void;
}

// ws's frame parser; @types/ws does not declare it.
const { Receiver } = ws as unknown as { Receiver: new (options: object) => FrameParser };

/** What ws's own frame parser (a client's, so unmasked frames are expected) reads back. */
function parse(bytes: Uint8Array): Promise<string> {
  return new Promise((resolve, reject) => {
    const receiver = new Receiver({ isServer: false, maxPayload: 1 << 20 });
    receiver.on('message', (data: Buffer, isBinary: boolean) =>
      isBinary ? reject(new Error('binary')) : resolve(String(data)),
    );
    receiver.on('error', reject);
    receiver.write(Buffer.from(bytes));
  });
}

describe('encodeTextFrame', () => {
  it.each([
    ['a short message (7-bit length)', 'x'.repeat(125)],
    ['a status message (16-bit length)', '{"type":"status","é":"✓"}'.repeat(12)],
    ['a long message (64-bit length)', 'y'.repeat(70_000)],
  ])('frames %s as ws reads it', async (_name, text) => {
    expect(await parse(encodeTextFrame(text))).toBe(text);
  });
});
