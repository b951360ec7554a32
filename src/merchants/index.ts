import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { AppError, conflict } from '../errors.js';
import { merchantDid } from '../proposals/index.js';
import { isSuiAddress, normaliseSuiAddress } from '../sui/address.js';
import { UniqueViolation, type Merchant, type Store } from '../store/index.js';

const HOSTNAME =
  /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

export const registerMerchantBodySchema = z.strictObject({
  name: z.string().trim().min(1).max(200),
  suiAddress: z
    .string()
    .refine(isSuiAddress, 'must be a Sui address: 0x followed by up to 64 hex digits')
    .transform(normaliseSuiAddress),
  hostname: z
    .string()
    .transform((value) => value.toLowerCase())
    .pipe(
      z
        .string()
        .regex(
          HOSTNAME,
          'must be a DNS hostname such as shop.example.com (no scheme, port or path)',
        ),
    ),
  publicKey: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, 'must be an Ed25519 public key: 64 hex digits')
    .transform((value) => value.toLowerCase()),
});

export type RegisterMerchantBody = z.output<typeof registerMerchantBodySchema>;

export interface RegisteredMerchant {
  merchantId: string;
  did: string;
  /** Shown once; only its hash is stored. */
  apiKey: string;
}

/** 256 random bits: a fast hash is enough to store it safely, no slow KDF needed. */
export function generateApiKey(): string {
  return `ips_${randomBytes(32).toString('base64url')}`;
}

export function hashApiKey(apiKey: string): string {
  return createHash('sha256').update(apiKey).digest('hex');
}

export async function registerMerchant(
  store: Store,
  body: RegisterMerchantBody,
  now: Date,
): Promise<RegisteredMerchant> {
  const apiKey = generateApiKey();
  const merchant: Merchant = { id: randomUUID(), ...body, createdAt: now };
  try {
    await store.merchants.create({ ...merchant, apiKeyHash: hashApiKey(apiKey) });
  } catch (error) {
    if (error instanceof UniqueViolation) {
      throw conflict(`A merchant with hostname ${body.hostname} already exists`);
    }
    throw error;
  }
  return { merchantId: merchant.id, did: merchantDid(merchant.hostname, merchant.id), apiKey };
}

export const DEMO_MERCHANT: RegisterMerchantBody = {
  name: 'identiPay Demo Shop',
  suiAddress: `0x${'de'.repeat(32)}`,
  hostname: 'localhost',
  publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
};

/**
 * Sandbox only: make sure the demo merchant exists and give it a fresh key, because a key is
 * stored only as a hash and so cannot be shown again after a restart.
 */
export async function prepareDemoMerchant(store: Store, now: Date): Promise<RegisteredMerchant> {
  let existing = await store.merchants.byHostname(DEMO_MERCHANT.hostname);
  if (!existing) {
    try {
      return await registerMerchant(store, DEMO_MERCHANT, now);
    } catch (error) {
      // Nodes starting together on a new database: another one created it first; use that one.
      if (!(error instanceof AppError && error.kind === 'conflict')) throw error;
      existing = await store.merchants.byHostname(DEMO_MERCHANT.hostname);
      if (!existing) throw error;
    }
  }
  const apiKey = generateApiKey();
  await store.merchants.rotateApiKey(existing.id, hashApiKey(apiKey));
  return { merchantId: existing.id, did: merchantDid(existing.hostname, existing.id), apiKey };
}
