import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { scanQrDataUrl } from '../../test/support/qr.js';
import { paymentUri } from './document.js';
import { qrCodeDataUrl, qrCodePng } from './qr-code.js';

const TRANSACTION_ID = '0b7c5a4e-5d1f-4c3b-9a8e-2f6d1c0b9a87';

describe('qrCodeDataUrl', () => {
  it.each([
    ['a short hostname', 'localhost'],
    ['a typical one', 'shop.alpine-gear.example.com'],
    // The longest a hostname can be: a larger QR version, smaller modules.
    [
      'the longest hostname',
      `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`,
    ],
  ])('scans back to the payment URI, with %s', (_, hostname) => {
    const uri = paymentUri(hostname, TRANSACTION_ID);
    expect(scanQrDataUrl(qrCodeDataUrl(uri))).toBe(uri);
  });

  it('draws a square image of at most 256 pixels, light around the symbol', () => {
    const image = PNG.sync.read(qrCodePng(paymentUri('localhost', TRANSACTION_ID)));
    expect(image.height).toBe(image.width);
    expect(image.width).toBeGreaterThan(128);
    expect(image.width).toBeLessThanOrEqual(256);
    const grey = (x: number, y: number) => image.data[(y * image.width + x) * 4];
    const edge = image.width - 1;
    expect([grey(0, 0), grey(edge, 0), grey(0, edge), grey(edge, edge)]).toEqual([
      255, 255, 255, 255,
    ]);
  });
});
