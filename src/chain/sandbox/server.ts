import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { graphql } from 'graphql';
import pino, { type Logger } from 'pino';
import { SANDBOX_PACKAGE_ID } from '../../config/index.js';
import { settlementEventType } from '../settlement-event.js';
import { ChainFaults, faultRequestFromJson } from './faults.js';
import { SandboxLedger } from './ledger.js';
import {
  IntentAlreadySettledError,
  paymentFromJson,
  SandboxInputError,
  type PaymentReceipt,
  type SandboxPayment,
} from './payment.js';
import { LedgerFile } from './persistence.js';
import { rootValue } from './resolvers.js';
import { sandboxSchema } from './schema.js';

export interface SandboxChainOptions {
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  checkpointIntervalMs?: number;
  /** Append-only JSON lines; a restart with the same file keeps transactions and numbering. */
  dataFile?: string;
  now?: () => Date;
  logger?: Logger;
  packageId?: string;
  /** Serve `GET|POST /sandbox/faults` (soak runs only): see faults.ts. Off by default. */
  faults?: boolean;
}

export interface SandboxChain {
  /** Base URL, e.g. http://127.0.0.1:9125. */
  url: string;
  /** Sui GraphQL endpoint of this chain: `${url}/graphql`. */
  graphqlUrl: string;
  /**
   * Sui's chain identifier of this chain, as GraphQL `chainIdentifier` serves it: the first four
   * bytes of its random genesis checkpoint digest, hex. Kept in the data file; a chain started
   * without one, or with a new one, is a new chain with a new identifier.
   */
  chainIdentifier: string;
  /** Settles like a buyer's wallet would; resolves once a checkpoint includes it. */
  pay(payment: SandboxPayment): Promise<PaymentReceipt>;
  /** Settles all of them or none, in one checkpoint (many buyers paying at the same moment). */
  payAll(payments: readonly SandboxPayment[]): Promise<PaymentReceipt[]>;
  latestCheckpoint(): bigint;
  stop(): Promise<void>;
}

const BODY_LIMIT_BYTES = 1024 * 1024;

/** Payments in one `POST /sandbox/pay` array: about 250 KB, well inside the body limit. */
export const MAX_PAYMENTS_PER_REQUEST = 1_000;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A local stand-in for Sui: makes a checkpoint every interval (empty ones too), records
 * settlements, and serves them over Sui's GraphQL protocol so that the real GraphQL chain source
 * runs against it unchanged. `POST /sandbox/pay` is the one non-Sui route: a wallet simulator.
 * Its body is one payment (answered `{txDigest, checkpoint}`) or an array of up to
 * MAX_PAYMENTS_PER_REQUEST, all accepted or none, finalised in one checkpoint and answered as an
 * array in the same order: the benchmarks settle a burst that way, without a thousand requests
 * of their own competing with the burst for the CPU.
 */
export async function startSandboxChain(options: SandboxChainOptions = {}): Promise<SandboxChain> {
  const logger = options.logger ?? pino({ level: 'silent' });
  const eventType = settlementEventType(options.packageId ?? SANDBOX_PACKAGE_ID);
  const file = options.dataFile ? LedgerFile.open(options.dataFile) : undefined;
  if (file && file.skippedLines > 0) {
    logger.warn({ skippedLines: file.skippedLines }, 'sandbox chain skipped unreadable lines');
  }
  const ledger = new SandboxLedger({ now: options.now ?? (() => new Date()), logger, file });
  const timer = setInterval(() => ledger.makeCheckpoint(), options.checkpointIntervalMs ?? 250);
  const faults = options.faults ? new ChainFaults() : undefined;

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      const status = error instanceof HttpError ? error.status : 500;
      if (status === 500) logger.error({ err: error }, 'sandbox chain request failed');
      send(response, status, { error: status, message: (error as Error).message });
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const { pathname } = new URL(request.url ?? '/', 'http://sandbox');
    if (pathname === '/graphql') {
      if (request.method !== 'POST') throw new HttpError(405, 'Use POST');
      const body = (await readJson(request)) as Record<string, unknown>;
      if ((await faults?.gate()) === 'error') {
        send(response, 500, { error: 500, message: 'Injected fault' });
        return;
      }
      if (typeof body.query !== 'string') throw new HttpError(400, 'query must be a string');
      const result = await graphql({
        schema: sandboxSchema,
        source: body.query,
        rootValue: rootValue(ledger, eventType),
        variableValues: body.variables as Record<string, unknown> | undefined,
        operationName: typeof body.operationName === 'string' ? body.operationName : undefined,
      });
      send(response, 200, result);
      return;
    }
    if (pathname === '/sandbox/pay') {
      if (request.method !== 'POST') throw new HttpError(405, 'Use POST');
      const body = await readJson(request);
      const listed = Array.isArray(body);
      const receipts = await payOverHttp(listed ? body : [body], listed);
      const answers = receipts.map((receipt) => ({
        txDigest: receipt.txDigest,
        checkpoint: Number(receipt.checkpoint),
      }));
      send(response, 202, listed ? answers : answers[0]);
      return;
    }
    if (pathname === '/sandbox/faults' && faults) {
      if (request.method === 'POST') {
        const fault = faultRequestFromJson(await readJson(request));
        if (typeof fault === 'string') throw new HttpError(400, fault);
        faults.inject(fault.mode, fault.durationMs);
        logger.warn(fault, 'sandbox chain fault injected');
      } else if (request.method !== 'GET') throw new HttpError(405, 'Use GET or POST');
      send(response, 200, faults.state());
      return;
    }
    if (pathname === '/' && request.method === 'GET') {
      send(response, 200, {
        service: 'identipay sandbox chain',
        graphql: '/graphql',
        chainIdentifier: ledger.chainIdentifier,
        latestCheckpoint: Number(ledger.latestCheckpoint()),
      });
      return;
    }
    throw new HttpError(404, 'Not found');
  }

  async function payOverHttp(bodies: unknown[], listed: boolean): Promise<PaymentReceipt[]> {
    if (bodies.length === 0 || bodies.length > MAX_PAYMENTS_PER_REQUEST) {
      throw new HttpError(400, `send 1 to ${MAX_PAYMENTS_PER_REQUEST} payments at once`);
    }
    try {
      const payments = bodies.map((body, index) => {
        try {
          return paymentFromJson(body);
        } catch (error) {
          if (!listed || !(error instanceof SandboxInputError)) throw error;
          throw new SandboxInputError(`payment ${index}: ${error.message}`);
        }
      });
      return await ledger.submitAll(payments);
    } catch (error) {
      if (error instanceof SandboxInputError) throw new HttpError(400, error.message);
      if (error instanceof IntentAlreadySettledError) throw new HttpError(409, error.message);
      throw error;
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host ?? '127.0.0.1';
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const url = `http://${urlHost.includes(':') ? `[${urlHost}]` : urlHost}:${port}`;
  logger.info(
    {
      url,
      chainIdentifier: ledger.chainIdentifier,
      checkpoint: ledger.latestCheckpoint().toString(),
    },
    'sandbox chain started',
  );

  let stopping: Promise<void> | undefined;
  return {
    url,
    graphqlUrl: `${url}/graphql`,
    chainIdentifier: ledger.chainIdentifier,
    pay: (payment) => ledger.submit(payment),
    payAll: (payments) => ledger.submitAll(payments),
    latestCheckpoint: () => ledger.latestCheckpoint(),
    stop() {
      stopping ??= (async () => {
        clearInterval(timer);
        faults?.clear();
        ledger.stop();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        file?.close();
      })();
      return stopping;
    },
  };
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > BODY_LIMIT_BYTES) throw new HttpError(413, 'Body too large');
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new HttpError(400, 'Body must be JSON');
  }
}

function send(response: ServerResponse, status: number, body: unknown): void {
  if (response.headersSent) return;
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}
