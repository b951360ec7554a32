import { z } from 'zod';
import type { ErrorKind } from '../errors.js';
import {
  TRANSACTION_STATUSES,
  type TransactionStatusResponse,
  type TransitionRecord,
} from '../wire/index.js';

/**
 * Response bodies as zod schemas: the OpenAPI document is generated from them, and the OpenAPI
 * test parses real responses with them. Strict objects, so that an undocumented field fails.
 */

/** Any case, as the routes accept it (they answer with lower case). */
export const transactionIdSchema = z
  .string()
  .regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/)
  .meta({ description: 'Transaction id: a UUID' });

const lowerUuid = z
  .string()
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
const timestamp = z.iso.datetime();
const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
const status = z.enum(TRANSACTION_STATUSES);

export const registeredMerchantSchema = z.strictObject({
  merchantId: lowerUuid,
  did: z.string().startsWith('did:identipay:'),
  apiKey: z.string().meta({ description: 'Shown once; only its hash is stored' }),
});

/** The identiPay CommerceProposal as wallets resolve it (docs/PROTOCOL.md). */
export const proposalDocumentSchema = z.strictObject({
  '@context': z.string(),
  '@type': z.literal('CommerceProposal'),
  transactionId: lowerUuid,
  merchant: z.strictObject({
    did: z.string(),
    name: z.string(),
    suiAddress: z.string(),
    publicKey: hex64,
  }),
  items: z.array(
    z.strictObject({
      name: z.string(),
      quantity: z.number().int(),
      unitPrice: z.string(),
      currency: z.string().optional(),
    }),
  ),
  amount: z.strictObject({ value: z.string(), currency: z.string() }),
  deliverables: z.strictObject({
    receipt: z.boolean(),
    warranty: z
      .strictObject({ durationDays: z.number().int(), transferable: z.boolean() })
      .optional(),
  }),
  constraints: z
    .strictObject({
      ageGate: z.number().int().optional(),
      regionRestriction: z.array(z.string()).optional(),
    })
    .optional(),
  expiresAt: timestamp,
  settlementChain: z.literal('sui'),
  settlementModule: z.string(),
  intentHash: hex64,
});

export const createdProposalSchema = z.strictObject({
  transactionId: lowerUuid,
  intentHash: hex64,
  expiresAt: timestamp,
  proposal: proposalDocumentSchema,
  uri: z.string().startsWith('did:identipay:'),
  qrCode: z.string().startsWith('data:image/png;base64,'),
});

const transitionRecordSchema: z.ZodType<TransitionRecord> = z.strictObject({
  version: z.number().int().min(1),
  status,
  event: z.enum(['created', 'settled', 'expired', 'cancelled']),
  suiTxDigest: z.string().nullable(),
  late: z.boolean(),
  at: timestamp,
});

export const transactionStatusSchema: z.ZodType<TransactionStatusResponse> = z.strictObject({
  transactionId: lowerUuid,
  status,
  suiTxDigest: z.string().nullable(),
  settledAt: timestamp.nullable(),
  version: z.number().int().min(1),
  late: z.boolean(),
  indexedCheckpoint: z
    .string()
    .regex(/^[0-9]+$/)
    .optional()
    .meta({ description: 'Pending only: last checkpoint fully indexed (u64 as decimal)' }),
  indexedCheckpointTimestamp: timestamp.nullable().optional(),
  transitions: z
    .array(transitionRecordSchema)
    .optional()
    .meta({ description: 'Only with ?since=N: the transitions after version N, oldest first' }),
});

export const cancelledSchema = z.strictObject({
  transactionId: lowerUuid,
  status: z.literal('cancelled'),
  version: z.number().int().min(2),
});

export const sandboxPaidSchema = z.strictObject({ txDigest: z.string().min(1) });

export const healthSchema = z.strictObject({ status: z.literal('ok') });

/** `/ready`: 200 when every check passes, 503 naming the failing ones. */
export const readinessSchema = z.strictObject({
  status: z.enum(['ready', 'not_ready']),
  failing: z.array(z.string()),
  checks: z.record(z.string(), z.strictObject({ ok: z.boolean(), detail: z.string().optional() })),
});

export const metricsTextSchema = z.string().meta({ description: 'Prometheus text format' });

/** `{error, message}`, plus `issues` for validation errors and `status` for 409/410. */
export function errorBodySchema(kind: ErrorKind) {
  return z.strictObject({
    error: z.literal(kind),
    message: z.string(),
    issues: z.array(z.strictObject({ path: z.string(), message: z.string() })).optional(),
    status: status.optional(),
  });
}
