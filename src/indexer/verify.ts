import type { SettlementEvent } from '../chain/types.js';
import type { PaymentTerms, SettlementDecision } from '../store/settlements.js';

/**
 * Decides whether an on-chain settlement counts for its proposal. The event alone is not
 * enough: it names a merchant and an amount but no coin type, so what the transaction really
 * credited to the merchant (its balance changes) is what must cover the proposal.
 *
 *   no proposal with this intent hash          → unknown_intent
 *   event merchant ≠ proposal's merchant       → wrong_recipient
 *   nothing credited in the proposal's coin    → wrong_coin (if another coin was credited)
 *   credited < amount due                      → underpaid
 *   otherwise                                  → settle (overpayment included, amount recorded)
 */
export function verifySettlement(
  event: SettlementEvent,
  terms: PaymentTerms | undefined,
): SettlementDecision {
  const where = {
    txDigest: event.txDigest,
    eventIndex: event.eventIndex,
    checkpoint: event.checkpoint,
    intentHash: event.intentHash,
  };
  if (!terms) {
    return {
      kind: 'anomaly',
      reason: 'unknown_intent',
      transactionId: undefined,
      ...where,
      detail: {},
    };
  }
  const anomaly = (
    reason: 'underpaid' | 'wrong_recipient' | 'wrong_coin',
    detail: Record<string, string>,
  ) => ({ kind: 'anomaly', reason, transactionId: terms.transactionId, ...where, detail }) as const;

  if (event.merchant !== terms.merchantSuiAddress) {
    return anomaly('wrong_recipient', {
      expected: terms.merchantSuiAddress,
      actual: event.merchant,
    });
  }
  const received = event.credited
    .filter((credit) => credit.coinType === terms.coinType)
    .reduce((sum, credit) => sum + credit.amount, 0n);
  if (received === 0n && event.credited.some((credit) => credit.amount > 0n)) {
    return anomaly('wrong_coin', {
      expected: terms.coinType,
      actual: event.credited.map((credit) => credit.coinType).join(','),
    });
  }
  if (received < terms.amountBaseUnits) {
    return anomaly('underpaid', {
      expected: terms.amountBaseUnits.toString(),
      received: received.toString(),
      coinType: terms.coinType,
    });
  }
  return {
    kind: 'settle',
    transactionId: terms.transactionId,
    txDigest: event.txDigest,
    eventIndex: event.eventIndex,
    checkpoint: event.checkpoint,
    checkpointTimestamp: event.checkpointTimestamp,
    amountReceived: received,
  };
}
