/**
 * The demo checkout page's script, run in the browser as an ES module (served from dist/ with
 * the SDK it imports). It only talks to the shop's own routes (`/demo/…`), the sandbox wallet
 * route and the status WebSocket: it never holds an API key.
 */
import {
  watchTransaction,
  type SettlementMessage,
  type StatusMessage,
  type TransactionStatus,
  type Watch,
} from '../../sdk/index.js';

interface CreatedPayment {
  transactionId: string;
  uri: string;
  qrCode: string;
  expiresAt: string;
  proposal: { amount: { value: string; currency: string } };
}

function element<T extends HTMLElement>(id: string, type: { new (): T; prototype: T }): T {
  const found = document.getElementById(id);
  if (!(found instanceof type)) throw new Error(`the page has no #${id}`);
  return found;
}

const cart = element('cart', HTMLFormElement);
const cartFields = element('cart-fields', HTMLFieldSetElement);
const total = element('total', HTMLOutputElement);
const cartError = element('cart-error', HTMLParagraphElement);
const payment = element('payment', HTMLElement);
const paymentTitle = element('payment-title', HTMLHeadingElement);
const qr = element('qr', HTMLImageElement);
const statusLine = element('status', HTMLParagraphElement);
const connection = element('connection', HTMLParagraphElement);
const amount = element('amount', HTMLElement);
const uri = element('uri', HTMLElement);
const txId = element('tx-id', HTMLElement);
const expires = element('expires', HTMLTimeElement);
const digest = element('digest', HTMLElement);
const simulate = element('simulate', HTMLButtonElement);
const cancel = element('cancel', HTMLButtonElement);
const again = element('again', HTMLButtonElement);
const paymentError = element('payment-error', HTMLParagraphElement);
const quantityInputs = Array.from(
  cart.querySelectorAll<HTMLInputElement>('input[data-unit-price]'),
);
const currency = cart.dataset.currency ?? '';

const STATUS_TEXT: Record<TransactionStatus, string> = {
  pending: 'Waiting for payment…',
  settled: 'Paid: settled on Sui.',
  expired: 'Expired: this payment request can no longer be paid.',
  cancelled: 'Cancelled.',
};

let watch: Watch | undefined;
let transactionId = '';

/** "2.5" or "2.50" → "2.50": amounts are shown with cents. */
function withCents(value: string): string {
  const [whole, fraction = ''] = value.split('.');
  return `${whole}.${fraction.padEnd(2, '0')}`;
}

/** Display only: the server prices the cart itself. Prices have two decimals, so integer cents. */
function cents(price: string): number {
  const [whole, fraction = ''] = withCents(price).split('.');
  return Number(whole) * 100 + Number(fraction.slice(0, 2));
}

function quantityOf(input: HTMLInputElement): number {
  const value = Number(input.value || '0');
  return Number.isInteger(value) && value >= 0 && value <= Number(input.max) ? value : NaN;
}

function updateTotal(): void {
  const sum = quantityInputs.reduce(
    (acc, input) => acc + (quantityOf(input) || 0) * cents(input.dataset.unitPrice ?? '0'),
    0,
  );
  total.value = `${Math.floor(sum / 100)}.${String(sum % 100).padStart(2, '0')} ${currency}`;
}

async function postJson<T>(url: string, body?: unknown): Promise<T> {
  const response = await fetch(url, {
    method: 'POST',
    ...(body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  const answer = (await response.json().catch(() => ({}))) as { message?: string };
  if (!response.ok) throw new Error(answer.message ?? `The server answered ${response.status}`);
  return answer as T;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function checkout(): Promise<void> {
  cartError.textContent = '';
  if (quantityInputs.some((input) => Number.isNaN(quantityOf(input)))) {
    cartError.textContent = 'Quantities are whole numbers from 0 to 10.';
    return;
  }
  const items = quantityInputs
    .map((input) => ({ sku: input.name, quantity: quantityOf(input) }))
    .filter((item) => item.quantity > 0);
  if (items.length === 0) {
    cartError.textContent = 'Choose at least one item.';
    return;
  }
  cartFields.disabled = true;
  try {
    showPayment(await postJson<CreatedPayment>('/demo/checkout', { items }));
  } catch (error) {
    cartError.textContent = `Could not create the payment: ${messageOf(error)}`;
    cartFields.disabled = false;
  }
}

function showPayment(created: CreatedPayment): void {
  transactionId = created.transactionId;
  qr.src = created.qrCode;
  uri.textContent = created.uri;
  txId.textContent = created.transactionId;
  amount.textContent = `${withCents(created.proposal.amount.value)} ${created.proposal.amount.currency}`;
  expires.dateTime = created.expiresAt;
  expires.textContent = new Date(created.expiresAt).toLocaleTimeString();
  digest.textContent = 'none yet';
  statusLine.dataset.status = 'connecting';
  statusLine.dataset.via = '';
  statusLine.textContent = 'Connecting…';
  connection.textContent = '';
  paymentError.textContent = '';
  for (const button of [simulate, cancel]) {
    button.hidden = false;
    button.setAttribute('aria-disabled', 'false');
  }
  again.hidden = true;
  payment.hidden = false;
  paymentTitle.focus();
  watch = watchTransaction(created.transactionId, {
    baseUrl: location.origin,
    // Without a key the SDK can still poll: the shop's own status route answers for its payments.
    pollUrl: (id) => `/demo/transactions/${encodeURIComponent(id)}/status`,
    backoff: { baseMs: 250, capMs: 4_000 },
    fallbackAfterFailures: 3,
    pollIntervalMs: 1_000,
    wsRetryIntervalMs: 5_000,
    onStatus: ({ message, via }) => render(message, via),
    onSettlement: ({ message, via }) => render(message, via),
    onError: () => {
      connection.textContent = 'Connection interrupted: reconnecting…';
    },
    onFinal: (event) => {
      if (event.reason === 'not_found' || event.reason === 'bad_request') {
        paymentError.textContent = `Stopped watching: ${event.error?.message ?? event.reason}`;
      }
      if (event.reason !== 'aborted') finish();
    },
  });
}

function render(message: StatusMessage | SettlementMessage, via: 'websocket' | 'polling'): void {
  statusLine.dataset.status = message.status;
  statusLine.dataset.via = via;
  const late = message.type === 'settlement' && message.late;
  statusLine.textContent = late
    ? 'Paid after the request had ended: the shop refunds the buyer.'
    : STATUS_TEXT[message.status];
  digest.textContent = message.suiTxDigest ?? (message.status === 'pending' ? 'none yet' : 'none');
  connection.textContent =
    via === 'websocket'
      ? 'Live updates over WebSocket.'
      : 'Updates by polling the shop (the WebSocket is unavailable).';
}

/** A final status: no more actions on this payment; keep keyboard focus on the page. */
function finish(): void {
  const hadFocus = document.activeElement === simulate || document.activeElement === cancel;
  simulate.hidden = true;
  cancel.hidden = true;
  again.hidden = false;
  if (hadFocus) again.focus();
}

/**
 * Runs one payment action. The button is marked aria-disabled rather than disabled while it
 * runs (and for good after a wallet payment went through), so that keyboard focus stays on it.
 */
async function act(button: HTMLButtonElement, url: string, keepDisabled: boolean): Promise<void> {
  if (button.getAttribute('aria-disabled') === 'true') return;
  button.setAttribute('aria-disabled', 'true');
  paymentError.textContent = '';
  try {
    await postJson(url);
    button.setAttribute('aria-disabled', String(keepDisabled));
  } catch (error) {
    paymentError.textContent = messageOf(error);
    button.setAttribute('aria-disabled', 'false');
  }
}

cart.addEventListener('input', updateTotal);
cart.addEventListener('submit', (event) => {
  event.preventDefault();
  void checkout();
});
simulate.addEventListener('click', () => {
  void act(simulate, `/sandbox/transactions/${transactionId}/pay`, true);
});
cancel.addEventListener('click', () => {
  void act(cancel, `/demo/transactions/${transactionId}/cancel`, false);
});
again.addEventListener('click', () => {
  watch?.close();
  watch = undefined;
  payment.hidden = true;
  cartFields.disabled = false;
  for (const input of quantityInputs) input.value = '0';
  updateTotal();
  quantityInputs[0]?.focus();
});
updateTotal();
