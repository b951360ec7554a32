import { eq } from 'drizzle-orm';
import type { Db } from './database.js';
import { asUniqueViolation } from './errors.js';
import { merchants } from './schema.js';
import type { Merchant } from './types.js';

export interface NewMerchant extends Merchant {
  apiKeyHash: string;
}

const publicColumns = {
  id: merchants.id,
  name: merchants.name,
  suiAddress: merchants.suiAddress,
  hostname: merchants.hostname,
  publicKey: merchants.publicKey,
  createdAt: merchants.createdAt,
};

export function merchantStore(db: Db) {
  return {
    /** Throws UniqueViolation when the hostname (or, astronomically unlikely, the key) exists. */
    async create(merchant: NewMerchant): Promise<void> {
      try {
        await db.insert(merchants).values(merchant);
      } catch (error) {
        throw asUniqueViolation(error) ?? error;
      }
    },

    async byApiKeyHash(apiKeyHash: string): Promise<Merchant | undefined> {
      const [row] = await db
        .select(publicColumns)
        .from(merchants)
        .where(eq(merchants.apiKeyHash, apiKeyHash));
      return row;
    },

    async byHostname(hostname: string): Promise<Merchant | undefined> {
      const [row] = await db
        .select(publicColumns)
        .from(merchants)
        .where(eq(merchants.hostname, hostname));
      return row;
    },

    async rotateApiKey(merchantId: string, apiKeyHash: string): Promise<void> {
      await db.update(merchants).set({ apiKeyHash }).where(eq(merchants.id, merchantId));
    },
  };
}

export type MerchantStore = ReturnType<typeof merchantStore>;
