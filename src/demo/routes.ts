import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import { PROJECT_ROOT } from '../config/index.js';
import { notFound } from '../errors.js';
import { emptyBodySchema, statusQuerySchema, transactionStatus } from '../http/routes.js';
import { parse, transactionIdParam } from '../http/validation.js';
import type { Freshness } from '../hub/index.js';
import { DEMO_MERCHANT } from '../merchants/index.js';
import { createProposalBodySchema, type ProposalService } from '../proposals/index.js';
import type { Config } from '../config/index.js';
import type { Merchant, Store } from '../store/index.js';
import { browserModules } from './assets.js';
import { DEMO_CURRENCY, demoCheckoutBodySchema, priceCart } from './catalogue.js';
import {
  ASSETS_PREFIX,
  CONTENT_SECURITY_POLICY,
  SCRIPT_PATH,
  STYLESHEET_PATH,
  renderCheckoutPage,
} from './page.js';
import { CHECKOUT_CSS } from './style.js';

export const DEMO_PREFIX = '/demo';

export interface DemoDeps {
  store: Store;
  proposals: ProposalService;
  config: Pick<Config, 'currencies'>;
  freshness?: () => Freshness | undefined;
  logger: Logger;
  /** The compiled package (the browser modules are served from it); PROJECT_ROOT/dist by default. */
  distDir?: string;
}

function commonHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('cache-control', 'no-cache');
}

/**
 * Sandbox only: a checkout page at `/`, the shop of the demo merchant. The page asks these
 * routes (the shop's backend) to create, watch and cancel a payment, and watches it with the
 * client SDK in the browser, over the WebSocket or, when that is refused, by polling
 * `/demo/transactions/:txId/status`: no API key ever reaches the browser.
 */
export function registerDemoRoutes(app: FastifyInstance, deps: DemoDeps): void {
  const { store, proposals, config } = deps;
  const currency = config.currencies.get(DEMO_CURRENCY);
  if (!currency) throw new Error(`the demo shop needs the ${DEMO_CURRENCY} currency`);
  const proposalBody = createProposalBodySchema(config.currencies);
  const modules = browserModules(deps.distDir ?? path.join(PROJECT_ROOT, 'dist'));
  if (!modules.has(SCRIPT_PATH.slice(ASSETS_PREFIX.length + 1))) {
    deps.logger.warn('demo page: dist/ has no compiled browser modules; run `npm run build`');
  }
  const page = renderCheckoutPage();
  // The compiled modules do not change while the process runs: each is read from disk once.
  const sources = new Map<string, Promise<string>>();
  const moduleSource = (file: string): Promise<string> => {
    let source = sources.get(file);
    if (!source) {
      source = readFile(file, 'utf8');
      sources.set(file, source);
      source.catch(() => sources.delete(file));
    }
    return source;
  };

  // The merchant prepareDemoMerchant made (on this node or a cluster's primary), found as it
  // finds it; its API key is not needed, and rotates at every start anyway.
  let cached: Merchant | undefined;
  const shopMerchant = async (): Promise<Merchant> => {
    cached ??= await store.merchants.byHostname(DEMO_MERCHANT.hostname);
    if (!cached) throw new Error('the sandbox demo merchant is not in the store');
    return cached;
  };

  app.get('/', async (_request, reply) =>
    commonHeaders(reply)
      .header('content-security-policy', CONTENT_SECURITY_POLICY)
      .type('text/html; charset=utf-8')
      .send(page),
  );

  app.get(STYLESHEET_PATH, async (_request, reply) =>
    commonHeaders(reply).type('text/css; charset=utf-8').send(CHECKOUT_CSS),
  );

  app.get(`${ASSETS_PREFIX}/*`, async (request, reply) => {
    const file = modules.get((request.params as { '*': string })['*']);
    if (!file) throw notFound('No such file');
    const source = await moduleSource(file);
    return commonHeaders(reply).type('text/javascript; charset=utf-8').send(source);
  });

  app.post(`${DEMO_PREFIX}/checkout`, async (request, reply) => {
    const cart = parse(demoCheckoutBodySchema, request.body);
    const body = parse(proposalBody, priceCart(cart, currency));
    return reply.status(201).send(await proposals.create(await shopMerchant(), body));
  });

  app.get(`${DEMO_PREFIX}/transactions/:txId/status`, async (request) => {
    const transactionId = transactionIdParam(request);
    const { since } = parse(statusQuerySchema, request.query);
    return transactionStatus(deps, await shopMerchant(), transactionId, since);
  });

  app.post(`${DEMO_PREFIX}/transactions/:txId/cancel`, async (request) => {
    const transactionId = transactionIdParam(request);
    parse(emptyBodySchema, request.body);
    const cancelled = await proposals.cancel(await shopMerchant(), transactionId);
    return { transactionId, status: cancelled.status, version: cancelled.version };
  });
}
