import {
  IntentAlreadySettledError,
  normalisePayment,
  SandboxInputError,
  type PaymentReceipt,
  type SandboxPayment,
} from './payment.js';

export interface SandboxWallet {
  pay(payment: SandboxPayment): Promise<PaymentReceipt>;
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
  return {
    async pay(payment) {
      const normalised = normalisePayment(payment);
      const response = await fetchImpl(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          intentHash: normalised.intentHash,
          merchant: normalised.merchant,
          amount: normalised.amount.toString(),
          coinType: normalised.coinType,
        }),
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
      const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
      if (response.status === 202 && typeof body.txDigest === 'string') {
        return { txDigest: body.txDigest, checkpoint: BigInt(Number(body.checkpoint)) };
      }
      if (response.status === 409) throw new IntentAlreadySettledError(normalised.intentHash);
      const message = typeof body.message === 'string' ? body.message : `HTTP ${response.status}`;
      if (response.status === 400) throw new SandboxInputError(message);
      throw new Error(`Sandbox chain refused the payment: ${message}`);
    },
  };
}
