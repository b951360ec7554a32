import jsqr from 'jsqr';
import { PNG } from 'pngjs';

/**
 * What a scanner reads from a `data:image/png;base64,…` QR code, decoded by libraries that
 * share nothing with how it was drawn (pngjs, jsQR); undefined when nothing can be read.
 */
export function scanQrDataUrl(dataUrl: string): string | undefined {
  const prefix = 'data:image/png;base64,';
  if (!dataUrl.startsWith(prefix)) return undefined;
  const image = PNG.sync.read(Buffer.from(dataUrl.slice(prefix.length), 'base64'));
  const pixels = new Uint8ClampedArray(image.data.buffer, image.data.byteOffset, image.data.length);
  // A CommonJS bundle: its exports object, a function itself, also carries it as `default`.
  return jsqr.default(pixels, image.width, image.height)?.data;
}
