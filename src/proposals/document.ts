import type { Merchant } from '../store/index.js';
import { PROPOSAL_CONTEXT_URL } from './intent-hash.js';
import type { CreateProposalBody } from './schema.js';

/** ISO 8601 UTC without milliseconds, the form the proposal document uses. */
export function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function merchantDid(hostname: string, merchantId: string): string {
  return `did:identipay:${hostname}:${merchantId}`;
}

/** What the QR code carries; the wallet resolves it at https://<hostname>/api/identipay/v1/intents/<txId>. */
export function paymentUri(hostname: string, transactionId: string): string {
  return `did:identipay:${hostname}:${transactionId}`;
}

/**
 * The CommerceProposal as identiPay wallets expect it, without intentHash (which is computed
 * from this and then added). Optional members are left out rather than set to null: a null would
 * change nothing in the RDF but would surprise wallets that validate the shape.
 */
export function buildProposalDocument(input: {
  transactionId: string;
  merchant: Merchant;
  body: CreateProposalBody;
  expiresAt: Date;
  packageId: string;
}): Record<string, unknown> {
  const { body, merchant } = input;
  return {
    '@context': PROPOSAL_CONTEXT_URL,
    '@type': 'CommerceProposal',
    transactionId: input.transactionId,
    merchant: {
      did: merchantDid(merchant.hostname, merchant.id),
      name: merchant.name,
      suiAddress: merchant.suiAddress,
      publicKey: merchant.publicKey,
    },
    items: body.items.map((item) => ({
      name: item.name,
      quantity: item.quantity,
      unitPrice: item.unitPrice,
      ...(item.currency ? { currency: item.currency } : {}),
    })),
    amount: { value: body.amount.value, currency: body.amount.currency },
    deliverables: {
      receipt: body.deliverables.receipt,
      ...(body.deliverables.warranty ? { warranty: { ...body.deliverables.warranty } } : {}),
    },
    ...(body.constraints ? { constraints: { ...body.constraints } } : {}),
    expiresAt: isoSeconds(input.expiresAt),
    settlementChain: 'sui',
    settlementModule: `${input.packageId}::settlement`,
  };
}
