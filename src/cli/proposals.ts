import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ExitCode, onePositional, usageError, wholeNumber } from './exit.js';
import { API, callApi, endpointFrom, endpointOptions, requireApiKey } from './http.js';

interface Item {
  name: string;
  quantity: number;
  unitPrice: string;
}

const DECIMAL = /^[0-9]{1,30}(\.[0-9]{1,18})?$/;

/** `Espresso:2:2.50` → an item. Split from the right: a name may contain colons. */
export function parseItem(text: string): Item {
  const parts = text.split(':');
  const unitPrice = parts.pop();
  const quantity = parts.pop();
  const name = parts.join(':').trim();
  if (!name || quantity === undefined || unitPrice === undefined || !DECIMAL.test(unitPrice)) {
    throw usageError(
      `--item: expected name:quantity:unitPrice such as Espresso:2:2.50, got "${text}"`,
    );
  }
  return { name, quantity: wholeNumber(quantity, `--item "${text}": quantity`, 1), unitPrice };
}

/** Σ quantity × unitPrice, exactly (decimal strings, no floating point). */
export function itemsTotal(items: Item[]): string {
  const scale = Math.max(0, ...items.map((item) => (item.unitPrice.split('.')[1] ?? '').length));
  const scaled = (price: string) => {
    const [whole = '0', fraction = ''] = price.split('.');
    return BigInt(whole + fraction.padEnd(scale, '0'));
  };
  const units = items.reduce(
    (sum, item) => sum + BigInt(item.quantity) * scaled(item.unitPrice),
    0n,
  );
  if (scale === 0) return units.toString();
  const digits = units.toString().padStart(scale + 1, '0');
  return `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
}

const createOptions = {
  ...endpointOptions,
  item: { type: 'string', multiple: true },
  amount: { type: 'string' },
  currency: { type: 'string', default: 'USDC' },
  'expires-in': { type: 'string' },
  'no-receipt': { type: 'boolean' },
  'warranty-days': { type: 'string' },
  'warranty-transferable': { type: 'boolean' },
  'age-gate': { type: 'string' },
  region: { type: 'string', multiple: true },
  'qr-code': { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
} as const;

type CreateValues = ReturnType<typeof parseArgs<{ options: typeof createOptions }>>['values'];

/** The `POST /proposals` body from the options; the server validates the rest. */
export function proposalBody(values: CreateValues): Record<string, unknown> {
  const currency = values.currency ?? 'USDC';
  const given = (values.item ?? []).map(parseItem);
  if (given.length === 0 && values.amount === undefined) {
    throw usageError(
      'proposal create needs --item name:quantity:unitPrice (repeatable) or --amount',
    );
  }
  const amount = values.amount ?? itemsTotal(given);
  // Only an amount: one line item for it (the proposal format requires at least one).
  const items = given.length > 0 ? given : [{ name: 'Payment', quantity: 1, unitPrice: amount }];
  const warrantyDays = values['warranty-days'];
  if (values['warranty-transferable'] && warrantyDays === undefined) {
    throw usageError('--warranty-transferable needs --warranty-days');
  }
  const ageGate = values['age-gate'];
  const constraints = {
    ...(ageGate === undefined ? {} : { ageGate: wholeNumber(ageGate, '--age-gate', 1) }),
    ...(values.region === undefined ? {} : { regionRestriction: values.region }),
  };
  const expiresIn = values['expires-in'];
  return {
    items,
    amount: { value: amount, currency },
    deliverables: {
      receipt: !values['no-receipt'],
      ...(warrantyDays === undefined
        ? {}
        : {
            warranty: {
              durationDays: wholeNumber(warrantyDays, '--warranty-days', 1),
              transferable: values['warranty-transferable'] ?? false,
            },
          }),
    },
    ...(Object.keys(constraints).length > 0 ? { constraints } : {}),
    ...(expiresIn === undefined
      ? {}
      : { expiresInSeconds: wholeNumber(expiresIn, '--expires-in', 1) }),
  };
}

export async function proposalCreate(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: createOptions, strict: true });
  const body = proposalBody(values);
  const endpoint = endpointFrom(values, process.env);
  const created = await callApi(endpoint, {
    method: 'POST',
    path: `${API}/proposals`,
    body,
    apiKey: requireApiKey(endpoint),
  });
  // The QR code is a PNG data URL of several kilobytes: a file, not terminal output.
  const { qrCode, ...shown } = created;
  const qrFile = values['qr-code'];
  if (qrFile !== undefined && typeof qrCode === 'string') {
    await writeFile(qrFile, Buffer.from(qrCode.replace(/^data:[^,]*,/, ''), 'base64'));
  }
  if (values.quiet) console.log(String(created.transactionId));
  else console.log(JSON.stringify(shown, null, 2));
  return ExitCode.Ok;
}

export async function proposalCancel(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: endpointOptions,
    allowPositionals: true,
    strict: true,
  });
  const txId = onePositional(positionals, 'proposal cancel <txId>');
  const endpoint = endpointFrom(values, process.env);
  const cancelled = await callApi(endpoint, {
    method: 'POST',
    path: `${API}/transactions/${encodeURIComponent(txId)}/cancel`,
    apiKey: requireApiKey(endpoint),
  });
  console.log(JSON.stringify(cancelled));
  return ExitCode.Ok;
}
