import { randomUUID } from 'node:crypto';
import type { Bus } from '../bus/index.js';
import type { Config } from '../config/index.js';
import { AppError, conflict, notFound } from '../errors.js';
import type { Merchant, Store, TransactionState } from '../store/index.js';
import { toBaseUnits } from './amounts.js';
import { buildProposalDocument, isoSeconds, paymentUri } from './document.js';
import { computeIntentHash } from './intent-hash.js';
import { qrCodeDataUrl } from './qr-code.js';
import type { CreateProposalBody } from './schema.js';

export interface ProposalServiceDeps {
  store: Store;
  bus: Bus;
  config: Pick<Config, 'currencies' | 'packageId'>;
  now: () => Date;
  /** A proposal was stored that expires at `expiresAt` (the expiry sweeper's wake-up). */
  onCreated?(expiresAt: Date): void;
}

export interface CreatedProposal {
  transactionId: string;
  intentHash: string;
  expiresAt: string;
  proposal: Record<string, unknown>;
  uri: string;
  /** PNG data URL of `uri`, ready for an <img>. */
  qrCode: string;
}

export function proposalService({ store, bus, config, now, onCreated }: ProposalServiceDeps) {
  return {
    async create(merchant: Merchant, body: CreateProposalBody): Promise<CreatedProposal> {
      const currency = config.currencies.get(body.amount.currency);
      const amount = currency && toBaseUnits(body.amount.value, currency.decimals);
      // The request schema already checked both; this guards against a schema/config drift.
      if (!currency || !amount?.ok) throw new AppError('bad_request', 'Invalid amount');

      const createdAt = now();
      // Whole seconds, so that the stored expiry and the document's agree exactly.
      const expiresAt = new Date(
        Math.floor(createdAt.getTime() / 1000) * 1000 + body.expiresInSeconds * 1000,
      );
      const transactionId = randomUUID();
      const document = buildProposalDocument({
        transactionId,
        merchant,
        body,
        expiresAt,
        packageId: config.packageId,
      });
      const intentHash = await computeIntentHash(document);
      const proposal: Record<string, unknown> = { ...document, intentHash };
      await store.proposals.create({
        transactionId,
        merchantId: merchant.id,
        intentHash,
        document: proposal,
        currency: currency.code,
        coinType: currency.coinType,
        amountBaseUnits: amount.units,
        merchantSuiAddress: merchant.suiAddress,
        createdAt,
        expiresAt,
      });
      onCreated?.(expiresAt);
      const uri = paymentUri(merchant.hostname, transactionId);
      return {
        transactionId,
        intentHash,
        expiresAt: isoSeconds(expiresAt),
        proposal,
        uri,
        qrCode: qrCodeDataUrl(uri),
      };
    },

    async status(merchant: Merchant, transactionId: string) {
      const found = await store.proposals.forMerchant(transactionId, merchant.id);
      if (!found) throw notFound('Transaction not found');
      return found;
    },

    async cancel(merchant: Merchant, transactionId: string): Promise<TransactionState> {
      const cancelled = await store.proposals.cancel(transactionId, merchant.id, now());
      if (cancelled) {
        await bus.publish([cancelled]);
        return cancelled;
      }
      const current = await store.proposals.forMerchant(transactionId, merchant.id);
      if (!current) throw notFound('Transaction not found');
      throw conflict(`Transaction is already ${current.status}`, { status: current.status });
    },
  };
}

export type ProposalService = ReturnType<typeof proposalService>;
