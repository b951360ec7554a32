import { CATALOGUE, DEMO_CURRENCY, MAX_QUANTITY, type Product } from './catalogue.js';

/** Where the page's own files are served; the browser script is at its compiled dist/ path. */
export const ASSETS_PREFIX = '/demo/assets';
export const STYLESHEET_PATH = `${ASSETS_PREFIX}/checkout.css`;
export const SCRIPT_PATH = `${ASSETS_PREFIX}/demo/browser/checkout.js`;

/**
 * Only this origin's scripts, styles and connections (fetch and the WebSocket: CSP 3 lets
 * `'self'` cover ws: and wss: to the same host), and images from here or data: URLs (the QR code).
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function productRow(product: Product): string {
  const sku = escapeHtml(product.sku);
  const name = escapeHtml(product.name);
  const price = escapeHtml(product.unitPrice);
  return `
          <tr>
            <th scope="row">${name}</th>
            <td class="num">${price} ${DEMO_CURRENCY}</td>
            <td class="num">
              <label class="visually-hidden" for="qty-${sku}">Quantity of ${name}</label>
              <input id="qty-${sku}" name="${sku}" type="number" inputmode="numeric"
                min="0" max="${MAX_QUANTITY}" step="1" value="0" data-unit-price="${price}">
            </td>
          </tr>`;
}

/** The checkout page: server-rendered from the catalogue, so that prices have one source. */
export function renderCheckoutPage(): string {
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>identiPay demo shop (sandbox)</title>
    <link rel="icon" href="data:,">
    <link rel="stylesheet" href="${STYLESHEET_PATH}">
    <script type="module" src="${SCRIPT_PATH}"></script>
  </head>
  <body>
    <header>
      <h1>identiPay demo shop</h1>
      <p class="muted">Sandbox mode: payments settle on a simulated Sui chain; no real money moves.</p>
    </header>
    <main>
      <form id="cart" aria-labelledby="cart-title" data-currency="${DEMO_CURRENCY}">
        <h2 id="cart-title">1. Choose items</h2>
        <fieldset id="cart-fields">
          <legend class="visually-hidden">Products and quantities</legend>
          <table>
            <thead>
              <tr><th scope="col">Item</th><th scope="col" class="num">Price</th><th scope="col" class="num">Quantity</th></tr>
            </thead>
            <tbody>${CATALOGUE.map(productRow).join('')}
            </tbody>
          </table>
          <p class="total">Total: <output id="total" for="${CATALOGUE.map((p) => `qty-${escapeHtml(p.sku)}`).join(' ')}">0.00 ${DEMO_CURRENCY}</output></p>
          <button type="submit" id="pay">Pay</button>
        </fieldset>
        <p id="cart-error" class="error" role="alert"></p>
      </form>

      <section id="payment" aria-labelledby="payment-title" hidden>
        <h2 id="payment-title" tabindex="-1">2. Pay with an identiPay wallet</h2>
        <div class="payment">
          <img id="qr" width="256" height="256" alt="QR code of the payment request: scan it with an identiPay wallet">
          <div class="details">
            <p id="status" class="status" role="status" aria-live="polite" data-status="connecting" data-via="">Connecting…</p>
            <p id="connection" class="muted"></p>
            <dl>
              <dt>Amount</dt><dd id="amount"></dd>
              <dt>Payment URI</dt><dd><code id="uri"></code></dd>
              <dt>Transaction</dt><dd><code id="tx-id"></code></dd>
              <dt>Expires</dt><dd><time id="expires"></time></dd>
              <dt>Sui digest</dt><dd><code id="digest">none yet</code></dd>
            </dl>
            <div class="actions">
              <button type="button" id="simulate">Simulate wallet payment</button>
              <button type="button" id="cancel" class="secondary">Cancel</button>
              <button type="button" id="again" hidden>New order</button>
            </div>
            <p id="payment-error" class="error" role="alert"></p>
          </div>
        </div>
      </section>
    </main>
  </body>
</html>
`;
}
