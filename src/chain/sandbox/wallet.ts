import {
  IntentAlreadySettledError,
  normalisePayment,
  SandboxInputError,
  type NormalisedPayment,
  type PaymentReceipt,
  type SandboxPayment,
} from './payment.js';

export interface SandboxWallet {
  pay(payment: SandboxPayment): Promise<PaymentReceipt>;
  /** All or none, in one checkpoint; receipts in the same order. */
  payAll(payments: readonly SandboxPayment[]): Promise<PaymentReceipt[]>;
}

/**
 * Pays on a sandbox chain running elsewhere (a node started with SANDBOX_CHAIN_URL), through
 * its `POST /sandbox/pay` route. Errors come back as the same types the in-process chain throws.
 */
export function sandboxWalletClient(
  url: string,
  options: { fetch?: typeof fetch; timeoutMs?: number } = {},
): SandboxWallet {
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const endpoint = new URL('/sandbox/pay', url).toString();
  /** One request; errors come back as the types the in-process chain throws. */
  async function post(body: unknown, intentHashes: readonly string[]): Promise<unknown> {
    const response = await fetchImpl(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
    const answer = (await response.json().catch(() => ({}))) as unknown;
    if (response.status === 202) return answer;
    const message = (answer as { message?: unknown }).message;
    const text = typeof message === 'string' ? message : `HTTP ${response.status}`;
    if (response.status === 409) {
      const settled = intentHashes.find((hash) => text.includes(hash)) ?? intentHashes[0] ?? '';
      throw new IntentAlreadySettledError(settled);
    }
    if (response.status === 400) throw new SandboxInputError(text);
    throw new Error(`Sandbox chain refused the payment: ${text}`);
  }

  return {
    async pay(payment) {
      const normalised = normalisePayment(payment);
      return receiptFromJson(await post(paymentToJson(normalised), [normalised.intentHash]));
    },
    async payAll(payments) {
      const normalised = payments.map((payment) => normalisePayment(payment));
      const answer = await post(
        normalised.map(paymentToJson),
        normalised.map((payment) => payment.intentHash),
      );
      if (!Array.isArray(answer) || answer.length !== normalised.length) {
        throw new Error('Sandbox chain answered a list of payments with something else');
      }
      return answer.map(receiptFromJson);
    },
  };
}

/** The buyer's stealth address stays in the wallet: the chain makes up one of its own. */
function paymentToJson(payment: NormalisedPayment) {
  return {
    intentHash: payment.intentHash,
    merchant: payment.merchant,
    amount: payment.amount.toString(),
    coinType: payment.coinType,
  };
}

function receiptFromJson(body: unknown): PaymentReceipt {
  const { txDigest, checkpoint } = (body ?? {}) as Record<string, unknown>;
  if (typeof txDigest !== 'string' || typeof checkpoint !== 'number') {
    throw new Error('Sandbox chain answered a payment without a receipt');
  }
  return { txDigest, checkpoint: BigInt(checkpoint) };
}
