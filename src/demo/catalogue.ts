import { z } from 'zod';
import type { Currency } from '../config/index.js';
import { fromBaseUnits, toBaseUnits, type CreateProposalBody } from '../proposals/index.js';

/** The demo shop's fixed products. Prices live here only: the page never sends one. */
export interface Product {
  sku: string;
  name: string;
  /** In DEMO_CURRENCY, two decimals. */
  unitPrice: string;
}

export const DEMO_CURRENCY = 'USDC';
export const MAX_QUANTITY = 10;

export const CATALOGUE: readonly Product[] = [
  { sku: 'espresso', name: 'Espresso', unitPrice: '2.50' },
  { sku: 'croissant', name: 'Butter croissant', unitPrice: '3.20' },
  { sku: 'notebook', name: 'Dot-grid notebook', unitPrice: '12.00' },
  { sku: 'tote', name: 'Canvas tote bag', unitPrice: '18.90' },
];

const SKUS = CATALOGUE.map((product) => product.sku) as [string, ...string[]];

/** The body of `POST /demo/checkout`: what the buyer picked, never a price. */
export const demoCheckoutBodySchema = z
  .strictObject({
    items: z
      .array(
        z.strictObject({
          sku: z.enum(SKUS),
          quantity: z.number().int().min(1).max(MAX_QUANTITY),
        }),
      )
      .min(1, 'choose at least one item')
      .max(CATALOGUE.length),
  })
  .refine((body) => new Set(body.items.map((item) => item.sku)).size === body.items.length, {
    message: 'each sku at most once',
    path: ['items'],
  });

export type DemoCheckoutBody = z.output<typeof demoCheckoutBodySchema>;

/** Prices the cart from the catalogue, in integer base units, as a proposal body. */
export function priceCart(
  body: DemoCheckoutBody,
  currency: Currency,
): Omit<CreateProposalBody, 'expiresInSeconds'> {
  let total = 0n;
  const items = body.items.map(({ sku, quantity }) => {
    const product = CATALOGUE.find((candidate) => candidate.sku === sku);
    const price = product && toBaseUnits(product.unitPrice, currency.decimals);
    // The schema only lets catalogue skus through, and catalogue prices are valid amounts.
    if (!product || !price?.ok) throw new Error(`catalogue has no valid price for ${sku}`);
    total += price.units * BigInt(quantity);
    return { name: product.name, quantity, unitPrice: product.unitPrice };
  });
  return {
    items,
    amount: { value: fromBaseUnits(total, currency.decimals), currency: currency.code },
    deliverables: { receipt: true },
  };
}
