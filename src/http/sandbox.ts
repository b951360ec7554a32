import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Config } from '../config/index.js';
import {
  IntentAlreadySettledError,
  SandboxInputError,
  type SandboxWallet,
} from '../chain/index.js';
import { badRequest, conflict, notFound } from '../errors.js';
import { toBaseUnits } from '../proposals/index.js';
import type { Store } from '../store/index.js';
import { isSuiAddress, normaliseSuiAddress } from '../sui/address.js';
import { isStructTag, normaliseCoinType } from '../sui/coin-type.js';
import { parse, transactionIdParam } from './validation.js';

/** Overrides that simulate a wrong payment; without them the proposal is paid as asked. */
export const sandboxPayBodySchema = z
  .strictObject({
    amount: z.string().max(40).optional(),
    merchant: z
      .string()
      .refine(isSuiAddress, 'must be a Sui address: 0x followed by up to 64 hex digits')
      .transform(normaliseSuiAddress)
      .optional(),
    coinType: z
      .string()
      .refine(isStructTag, 'must be a full coin type such as 0x2::sui::SUI')
      .transform(normaliseCoinType)
      .optional(),
  })
  .optional();

export function registerSandboxRoutes(
  app: FastifyInstance,
  deps: { store: Store; wallet: SandboxWallet; config: Pick<Config, 'currencies'> },
): void {
  app.post('/sandbox/transactions/:txId/pay', async (request, reply) => {
    const transactionId = transactionIdParam(request);
    const overrides = parse(sandboxPayBodySchema, request.body) ?? {};
    const terms = await deps.store.settlements.termsByTransaction(transactionId);
    if (!terms) throw notFound('Transaction not found');
    let amount = terms.amountBaseUnits;
    if (overrides.amount !== undefined) {
      const decimals = deps.config.currencies.get(terms.currency)?.decimals ?? 0;
      const parsed = toBaseUnits(overrides.amount, decimals);
      if (!parsed.ok) {
        throw badRequest(
          `Invalid amount: a positive ${terms.currency} amount with at most ${decimals} decimals`,
        );
      }
      amount = parsed.units;
    }
    try {
      const { txDigest } = await deps.wallet.pay({
        intentHash: terms.intentHash,
        merchant: overrides.merchant ?? terms.merchantSuiAddress,
        amount,
        coinType: overrides.coinType ?? terms.coinType,
      });
      return await reply.status(202).send({ txDigest });
    } catch (error) {
      if (error instanceof IntentAlreadySettledError) {
        throw conflict('This proposal was already paid on the sandbox chain');
      }
      if (error instanceof SandboxInputError) throw badRequest(error.message);
      throw error;
    }
  });
}
