import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_PACKAGE_ID } from '../src/config/index.js';
import { computeIntentHash } from '../src/proposals/index.js';
import { API, expectRejected, UUID_V4 } from './support/http.js';
import {
  demoKey,
  registerMerchant,
  SAMPLE_PROPOSAL,
  startTestNode,
  type TestMerchant,
  type TestNode,
} from './support/node.js';
import { scanQrDataUrl } from './support/qr.js';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const ISO_UTC_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

describe('proposal creation', () => {
  let node: TestNode;
  let merchant: TestMerchant;
  const merchantDetails = {
    name: 'Alpine Gear',
    suiAddress: `0x${'1f'.repeat(32)}`,
    publicKey: 'e4'.repeat(32),
  };
  const create = (body: unknown, key = demoKey(node)) =>
    node.api('POST', `${API}/proposals`, { key, body });

  beforeAll(async () => {
    node = await startTestNode();
    merchant = await registerMerchant(node, merchantDetails);
  });
  afterAll(async () => {
    await node.stop();
  });

  it('answers 201 with transactionId, intentHash, expiresAt, proposal, uri and qrCode', async () => {
    const response = await create(SAMPLE_PROPOSAL);
    expect(response.status).toBe(201);
    expect(Object.keys(response.body).sort()).toEqual(
      ['expiresAt', 'intentHash', 'proposal', 'qrCode', 'transactionId', 'uri'].sort(),
    );
    const { transactionId, intentHash, expiresAt, uri, qrCode } = response.body as Record<
      string,
      string
    >;
    expect(transactionId).toMatch(UUID_V4);
    expect(intentHash).toMatch(/^[0-9a-f]{64}$/);
    expect(expiresAt).toMatch(ISO_UTC_SECONDS);
    expect(uri).toBe(`did:identipay:localhost:${transactionId}`);

    const [prefix, data] = String(qrCode).split(',');
    expect(prefix).toBe('data:image/png;base64');
    expect(Buffer.from(data ?? '', 'base64').subarray(0, 8)).toEqual(PNG_SIGNATURE);
    // What the buyer's wallet scans is the payment URI.
    expect(scanQrDataUrl(qrCode ?? '')).toBe(uri);
  });

  it('builds the proposal exactly as IDENTIPAY-PROTOCOL.md describes it', async () => {
    const response = await create(
      {
        items: [
          { name: 'Tent', quantity: 1, unitPrice: '120.00' },
          { name: 'Pegs', quantity: 4, unitPrice: '2.50', currency: 'USDC' },
        ],
        amount: { value: '130.00', currency: 'USDC' },
        deliverables: { receipt: true, warranty: { durationDays: 365, transferable: true } },
        constraints: { ageGate: 18, regionRestriction: ['EU', 'CH'] },
      },
      merchant.apiKey,
    );
    expect(response.status).toBe(201);
    const { transactionId, intentHash, expiresAt } = response.body as Record<string, string>;
    expect(response.body.proposal).toStrictEqual({
      '@context': 'https://schema.identipay.net/v1',
      '@type': 'CommerceProposal',
      transactionId,
      merchant: {
        did: `did:identipay:${merchant.hostname}:${merchant.merchantId}`,
        name: merchantDetails.name,
        suiAddress: merchantDetails.suiAddress,
        publicKey: merchantDetails.publicKey,
      },
      items: [
        { name: 'Tent', quantity: 1, unitPrice: '120.00' },
        { name: 'Pegs', quantity: 4, unitPrice: '2.50', currency: 'USDC' },
      ],
      amount: { value: '130.00', currency: 'USDC' },
      deliverables: { receipt: true, warranty: { durationDays: 365, transferable: true } },
      constraints: { ageGate: 18, regionRestriction: ['EU', 'CH'] },
      expiresAt,
      settlementChain: 'sui',
      settlementModule: `${SANDBOX_PACKAGE_ID}::settlement`,
      intentHash,
    });
    expect(response.body.uri).toBe(`did:identipay:${merchant.hostname}:${transactionId}`);
  });

  it('returns the intent hash a wallet recomputes from the proposal it is given', async () => {
    const response = await create(SAMPLE_PROPOSAL);
    const proposal = response.body.proposal as Record<string, unknown>;
    expect(await computeIntentHash(proposal)).toBe(response.body.intentHash);
  });

  it('gives every proposal its own transaction id and intent hash', async () => {
    const [first, second] = [await create(SAMPLE_PROPOSAL), await create(SAMPLE_PROPOSAL)];
    expect(first.body.transactionId).not.toBe(second.body.transactionId);
    expect(first.body.intentHash).not.toBe(second.body.intentHash);
  });

  describe('expiry', () => {
    const expiresInMs = async (expiresInSeconds?: number) => {
      const before = Math.floor(Date.now() / 1000) * 1000;
      const response = await create({ ...SAMPLE_PROPOSAL, expiresInSeconds });
      const after = Date.now();
      expect(response.status).toBe(201);
      const expiresAt = Date.parse(response.body.expiresAt as string);
      return { fromBefore: expiresAt - before, fromAfter: expiresAt - after };
    };

    it('expires after 900 s by default', async () => {
      const { fromBefore, fromAfter } = await expiresInMs();
      expect(fromBefore).toBeGreaterThanOrEqual(900_000);
      expect(fromAfter).toBeLessThanOrEqual(900_000);
    });

    it('accepts expiresInSeconds up to 86400', async () => {
      const { fromBefore, fromAfter } = await expiresInMs(86_400);
      expect(fromBefore).toBeGreaterThanOrEqual(86_400_000);
      expect(fromAfter).toBeLessThanOrEqual(86_400_000);
    });

    it.each([86_401, 0, -5, 1.5, '60', null])(
      'answers 400 for expiresInSeconds %j and writes nothing',
      async (expiresInSeconds) => {
        await expectRejected(node, () => create({ ...SAMPLE_PROPOSAL, expiresInSeconds }), 400);
      },
    );
  });

  describe('amounts', () => {
    const priced = (value: unknown, currency: unknown) => ({
      ...SAMPLE_PROPOSAL,
      items: [{ name: 'Thing', quantity: 1, unitPrice: '1.00' }],
      amount: { value, currency },
    });

    it.each([
      ['12.50', 'USDC'],
      ['0.000001', 'USDC'],
      ['18446744073709.551615', 'USDC'],
      ['1.123456789', 'SUI'],
      ['7', 'SUI'],
    ])('accepts %s %s and keeps the string as given', async (value, currency) => {
      const response = await create(priced(value, currency));
      expect(response.status).toBe(201);
      expect((response.body.proposal as Record<string, unknown>).amount).toEqual({
        value,
        currency,
      });
    });

    it.each([
      ['1.1234567', 'USDC'],
      ['1.1234567891', 'SUI'],
      ['0', 'USDC'],
      ['0.000', 'SUI'],
      ['-1', 'USDC'],
      ['1e3', 'USDC'],
      [' 1', 'USDC'],
      ['1 ', 'USDC'],
      ['01.50', 'USDC'],
      ['.5', 'USDC'],
      ['5.', 'USDC'],
      ['1,50', 'USDC'],
      ['18446744073709.551616', 'USDC'],
      [1.5, 'USDC'],
      [12, 'USDC'],
      ['10.00', 'EUR'],
      ['10.00', 'usdc'],
    ])('answers 400 for %j %s and writes nothing', async (value, currency) => {
      await expectRejected(node, () => create(priced(value, currency)), 400);
    });

    it('checks item prices against their currency too, allowing a free item', async () => {
      const items = (unitPrice: string) => ({
        ...SAMPLE_PROPOSAL,
        items: [{ name: 'Sticker', quantity: 1, unitPrice }],
      });
      expect((await create(items('0'))).status).toBe(201);
      await expectRejected(node, () => create(items('0.0000001')), 400);
      await expectRejected(node, () => create(items('-2.00')), 400);
    });
  });
});
