/** The checkout page's stylesheet: system fonts, no external resources. */
export const CHECKOUT_CSS = `
:root {
  --ink: #1d2430;
  --muted: #5b6472;
  --line: #d9dee6;
  --accent: #1f5fbf;
  --accent-dark: #174a94;
  --ok: #1b7a3d;
  --bad: #a4262c;
  --wait: #8a5a00;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--ink);
  background: #f6f7f9;
  line-height: 1.45;
}
body { margin: 0 auto; max-width: 46rem; padding: 1.5rem 1rem 3rem; }
h1 { font-size: 1.6rem; margin: 0 0 0.25rem; }
h2 { font-size: 1.15rem; margin: 0 0 0.75rem; }
h2:focus { outline: none; }
.muted { color: var(--muted); margin: 0.25rem 0; font-size: 0.92rem; }
form, section {
  background: #fff;
  border: 1px solid var(--line);
  border-radius: 8px;
  padding: 1.25rem;
  margin-top: 1.25rem;
}
fieldset { border: 0; margin: 0; padding: 0; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: 0.5rem 0.25rem; border-bottom: 1px solid var(--line); }
thead th { font-size: 0.85rem; color: var(--muted); font-weight: 600; }
tbody th { font-weight: 500; }
.num { text-align: right; white-space: nowrap; }
input[type="number"] { width: 4.5rem; font: inherit; padding: 0.3rem 0.4rem; text-align: right;
  border: 1px solid #b8c0cc; border-radius: 4px; }
.total { font-size: 1.1rem; font-weight: 600; text-align: right; margin: 1rem 0; }
button {
  font: inherit; font-weight: 600; padding: 0.55rem 1.1rem; border-radius: 6px;
  border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer;
}
button:hover { background: var(--accent-dark); }
button.secondary { background: #fff; color: var(--accent); }
button.secondary:hover { background: #eef3fb; }
button:disabled, button[aria-disabled="true"] { opacity: 0.5; cursor: not-allowed; }
:focus-visible { outline: 3px solid #f2b600; outline-offset: 2px; }
#cart button[type="submit"] { float: right; }
fieldset::after { content: ""; display: block; clear: both; }
.error { color: var(--bad); margin: 0.5rem 0 0; }
.error:empty { display: none; }
.payment { display: flex; flex-wrap: wrap; gap: 1.25rem; align-items: flex-start; }
#qr { border: 1px solid var(--line); border-radius: 6px; image-rendering: pixelated; }
.details { flex: 1 1 16rem; min-width: 0; }
.status { font-size: 1.1rem; font-weight: 600; margin: 0; padding: 0.5rem 0.75rem;
  border-radius: 6px; border-left: 4px solid var(--muted); background: #eef1f5; }
.status[data-status="pending"] { border-color: var(--wait); background: #fff6e0; }
.status[data-status="settled"] { border-color: var(--ok); background: #e7f5ec; color: var(--ok); }
.status[data-status="expired"], .status[data-status="cancelled"] {
  border-color: var(--bad); background: #fbeaea; color: var(--bad); }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.35rem 0.75rem; margin: 1rem 0; }
dt { color: var(--muted); font-size: 0.9rem; }
dd { margin: 0; }
code { font-size: 0.85rem; overflow-wrap: anywhere; }
.actions { display: flex; gap: 0.75rem; flex-wrap: wrap; }
.visually-hidden {
  position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; border: 0;
}
`;
