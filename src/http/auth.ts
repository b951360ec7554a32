import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { AppError, unauthorized } from '../errors.js';
import { hashApiKey } from '../merchants/index.js';
import type { Merchant, Store } from '../store/index.js';

function bearerToken(request: FastifyRequest): string {
  const header = request.headers.authorization;
  if (!header) throw unauthorized('Missing Authorization header: expected "Bearer <key>"');
  // The scheme name is case-insensitive (RFC 9110 §11.1).
  const match = /^Bearer +([\x21-\x7e]{1,512})$/i.exec(header);
  if (!match?.[1]) throw unauthorized('Malformed Authorization header: expected "Bearer <key>"');
  return match[1];
}

export async function authenticateMerchant(
  request: FastifyRequest,
  store: Store,
): Promise<Merchant> {
  const merchant = await store.merchants.byApiKeyHash(hashApiKey(bearerToken(request)));
  if (!merchant) throw unauthorized('Invalid API key');
  return merchant;
}

export function authenticateAdmin(request: FastifyRequest, adminToken: string | undefined): void {
  if (!adminToken) {
    throw new AppError('forbidden', 'The admin API is disabled: set ADMIN_TOKEN to enable it');
  }
  // Comparing digests keeps the comparison constant-time whatever the lengths.
  const given = createHash('sha256').update(bearerToken(request)).digest();
  const expected = createHash('sha256').update(adminToken).digest();
  if (!timingSafeEqual(given, expected)) throw unauthorized('Invalid admin token');
}
