import { z } from 'zod';
import type { Currency } from '../config/index.js';
import { toBaseUnits, type AmountProblem } from './amounts.js';

export const DEFAULT_EXPIRES_IN_SECONDS = 900;
export const MAX_EXPIRES_IN_SECONDS = 86_400;

const PROBLEM_TEXT: Record<AmountProblem, string> = {
  format: 'must be a decimal string such as "12.50"',
  too_many_decimals: 'has more decimal places than the currency allows',
  zero: 'must be greater than zero',
  too_large: 'exceeds the largest amount a u64 can hold',
};

const decimalString = z.string().max(40);

/**
 * The body of `POST /proposals`. Built per configuration because the accepted currencies and
 * their decimals depend on the network.
 */
export function createProposalBodySchema(currencies: ReadonlyMap<string, Currency>) {
  const codes = [...currencies.keys()] as [string, ...string[]];
  const currency = z.enum(codes, { message: `must be one of ${codes.join(', ')}` });

  const item = z.strictObject({
    name: z.string().trim().min(1).max(200),
    quantity: z.number().int().min(1).max(1_000_000),
    unitPrice: decimalString,
    currency: currency.optional(),
  });

  return z
    .strictObject({
      items: z.array(item).min(1).max(100),
      amount: z.strictObject({ value: decimalString, currency }),
      deliverables: z.strictObject({
        receipt: z.boolean(),
        warranty: z
          .strictObject({
            durationDays: z.number().int().min(1).max(36_500),
            transferable: z.boolean(),
          })
          .optional(),
      }),
      constraints: z
        .strictObject({
          ageGate: z.number().int().min(1).max(150).optional(),
          regionRestriction: z
            .array(z.string().regex(/^[A-Z]{2,3}$/, 'must be a region code such as "EU" or "US"'))
            .min(1)
            .max(300)
            .optional(),
        })
        .optional(),
      expiresInSeconds: z
        .number()
        .int()
        .min(1)
        .max(MAX_EXPIRES_IN_SECONDS)
        .default(DEFAULT_EXPIRES_IN_SECONDS),
    })
    .superRefine((body, ctx) => {
      const check = (
        value: string,
        code: string,
        path: (string | number)[],
        allowZero: boolean,
      ) => {
        const decimals = currencies.get(code)?.decimals;
        if (decimals === undefined) return; // the enum already reported it
        const result = toBaseUnits(value, decimals);
        if (!result.ok && !(allowZero && result.problem === 'zero')) {
          ctx.addIssue({
            code: 'custom',
            path,
            message: `${PROBLEM_TEXT[result.problem]} (${code} has ${decimals} decimals)`,
          });
        }
      };
      check(body.amount.value, body.amount.currency, ['amount', 'value'], false);
      body.items.forEach((entry, index) =>
        check(
          entry.unitPrice,
          entry.currency ?? body.amount.currency,
          ['items', index, 'unitPrice'],
          true,
        ),
      );
    });
}

export type CreateProposalBody = z.output<ReturnType<typeof createProposalBodySchema>>;
