import { crc32, deflateSync } from 'node:zlib';
import QRCode from 'qrcode';

/** At most this many pixels wide: each module takes a whole number of pixels. */
const MAX_WIDTH_PX = 256;
/** Light modules around the symbol, so that a scanner finds its edges. */
const QUIET_ZONE_MODULES = 2;

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const FILTER_NONE = 0;
/** "Same as the row above": every pixel row of a module row after its first. */
const FILTER_UP = 2;

/**
 * The QR code of `text` as a PNG data URL, for an `<img>`.
 *
 * Drawn here as a 1-bit greyscale PNG from qrcode's module matrix rather than by qrcode's own
 * PNG renderer, which paints 4 bytes per pixel and tries five row filters on every row: that
 * was about 4.5 ms of CPU per proposal, most of what creating one costs; this takes about
 * 0.5 ms, mostly the QR encoding itself (figures in docs/benchmarks.md).
 */
export function qrCodeDataUrl(text: string): string {
  return `data:image/png;base64,${qrCodePng(text).toString('base64')}`;
}

export function qrCodePng(text: string): Buffer {
  const { modules } = QRCode.create(text, { errorCorrectionLevel: 'M' });
  const side = modules.size + 2 * QUIET_ZONE_MODULES;
  const scale = Math.max(1, Math.floor(MAX_WIDTH_PX / side));
  const width = side * scale;
  const rowBytes = Math.ceil(width / 8);
  const isDark = (row: number, column: number) =>
    row >= 0 &&
    column >= 0 &&
    row < modules.size &&
    column < modules.size &&
    modules.get(row, column) !== 0;

  // Each scanline is a filter byte and then a bit per pixel, 1 for light; zeros until drawn.
  const scanlines = Buffer.alloc((rowBytes + 1) * width);
  for (let y = 0; y < width; y++) {
    const line = y * (rowBytes + 1);
    if (y % scale !== 0) {
      scanlines[line] = FILTER_UP; // and all zero: no difference from the row above
      continue;
    }
    scanlines[line] = FILTER_NONE;
    const row = y / scale - QUIET_ZONE_MODULES;
    for (let x = 0; x < width; x++) {
      if (isDark(row, Math.floor(x / scale) - QUIET_ZONE_MODULES)) continue;
      const byte = line + 1 + (x >> 3);
      scanlines[byte] = (scanlines[byte] ?? 0) | (0x80 >> (x & 7));
    }
  }

  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(width, 4);
  header[8] = 1; // bit depth
  header[9] = 0; // greyscale; compression, filter method and interlace stay 0
  return Buffer.concat([
    PNG_SIGNATURE,
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(scanlines)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function chunk(type: string, data: Buffer): Buffer {
  const framed = Buffer.alloc(12 + data.length);
  framed.writeUInt32BE(data.length, 0);
  framed.write(type, 4, 'latin1');
  data.copy(framed, 8);
  // The CRC covers the type and the data.
  framed.writeUInt32BE(crc32(framed.subarray(4, 8 + data.length)), 8 + data.length);
  return framed;
}
