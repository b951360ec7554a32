import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Config } from '../config/index.js';
import { AppError, badRequest, notFound } from '../errors.js';
import type { Freshness } from '../hub/index.js';
import { registerMerchant, registerMerchantBodySchema } from '../merchants/index.js';
import { createProposalBodySchema, type ProposalService } from '../proposals/index.js';
import type { Merchant, Store } from '../store/index.js';
import type { TransactionStatusResponse } from '../wire/index.js';
import { authenticateAdmin, authenticateMerchant } from './auth.js';
import { parse, transactionIdParam } from './validation.js';

export const API_PREFIX = '/api/identipay/v1';

export interface RouteDeps {
  store: Store;
  proposals: ProposalService;
  config: Pick<Config, 'adminToken' | 'currencies'>;
  now: () => Date;
  /** How far settlements are indexed (pending statuses carry it). */
  freshness?: () => Freshness | undefined;
}

/** Query of `GET /transactions/:txId/status`. */
export const statusQuerySchema = z.strictObject({
  since: z
    .string()
    .regex(/^(0|[1-9][0-9]{0,8})$/, 'must be a version: a whole number ≥ 0')
    .transform(Number)
    .optional(),
});

/** A route that takes no body accepts none, or an empty JSON object. */
export const emptyBodySchema = z.strictObject({}).optional();

/** The schemas the routes validate with; the OpenAPI document is generated from these objects. */
export interface RequestSchemas {
  registerMerchantBody: typeof registerMerchantBodySchema;
  createProposalBody: ReturnType<typeof createProposalBodySchema>;
  statusQuery: typeof statusQuerySchema;
  emptyBody: typeof emptyBodySchema;
}

export function registerRoutes(app: FastifyInstance, deps: RouteDeps): RequestSchemas {
  const { store, proposals, config, now } = deps;
  const proposalBody = createProposalBodySchema(config.currencies);

  app.post(`${API_PREFIX}/merchants`, async (request, reply) => {
    authenticateAdmin(request, config.adminToken);
    const body = parse(registerMerchantBodySchema, request.body);
    return reply.status(201).send(await registerMerchant(store, body, now()));
  });

  app.post(`${API_PREFIX}/proposals`, async (request, reply) => {
    const merchant = await authenticateMerchant(request, store);
    const body = parse(proposalBody, request.body);
    return reply.status(201).send(await proposals.create(merchant, body));
  });

  app.get(`${API_PREFIX}/transactions/:txId/status`, async (request) => {
    const merchant = await authenticateMerchant(request, store);
    const transactionId = transactionIdParam(request);
    const { since } = parse(statusQuerySchema, request.query);
    return transactionStatus(deps, merchant, transactionId, since);
  });

  app.post(`${API_PREFIX}/transactions/:txId/cancel`, async (request) => {
    const merchant = await authenticateMerchant(request, store);
    const transactionId = transactionIdParam(request);
    parse(emptyBodySchema, request.body);
    const cancelled = await proposals.cancel(merchant, transactionId);
    return { transactionId, status: cancelled.status, version: cancelled.version };
  });

  // Public: what a wallet fetches after scanning the QR code. Only payable proposals are served.
  app.get(`${API_PREFIX}/intents/:txId`, async (request) => {
    const transactionId = transactionIdParam(request);
    const state = await store.proposals.state(transactionId);
    if (!state) throw notFound('Transaction not found');
    if (state.status !== 'pending') {
      throw new AppError('gone', `Transaction is ${state.status}`, { status: state.status });
    }
    return store.proposals.document(transactionId);
  });

  return {
    registerMerchantBody: registerMerchantBodySchema,
    createProposalBody: proposalBody,
    statusQuery: statusQuerySchema,
    emptyBody: emptyBodySchema,
  };
}

/**
 * The answer of the status route: the merchant's transaction, with the transitions after
 * `since` when given. Shared with the sandbox demo shop's own status route.
 */
export async function transactionStatus(
  deps: Pick<RouteDeps, 'store' | 'proposals' | 'freshness'>,
  merchant: Merchant,
  transactionId: string,
  since: number | undefined,
): Promise<TransactionStatusResponse> {
  const found = await deps.proposals.status(merchant, transactionId);
  const indexed = found.status === 'pending' ? deps.freshness?.() : undefined;
  const response: TransactionStatusResponse = {
    transactionId: found.transactionId,
    status: found.status,
    suiTxDigest: found.suiTxDigest,
    settledAt: found.settledAt?.toISOString() ?? null,
    version: found.version,
    late: found.late,
    ...(indexed
      ? {
          indexedCheckpoint: indexed.checkpoint.toString(),
          indexedCheckpointTimestamp: indexed.timestamp?.toISOString() ?? null,
        }
      : {}),
  };
  if (since !== undefined) {
    if (since > found.version) {
      throw badRequest(`since=${since} is ahead of this transaction (version ${found.version})`);
    }
    const history = await deps.store.proposals.history(transactionId, since);
    response.transitions = history.map((entry) => ({
      version: entry.version,
      status: entry.status,
      event: entry.event,
      suiTxDigest: entry.suiTxDigest,
      late: entry.late,
      at: entry.at.toISOString(),
    }));
  }
  return response;
}
