import type { FastifyInstance } from 'fastify';
import { z, type ZodType } from 'zod';
import { httpStatusOf, type ErrorKind } from '../errors.js';
import {
  cancelledSchema,
  createdProposalSchema,
  errorBodySchema,
  healthSchema,
  metricsTextSchema,
  proposalDocumentSchema,
  readinessSchema,
  registeredMerchantSchema,
  sandboxPaidSchema,
  transactionIdSchema,
  transactionStatusSchema,
} from './responses.js';
import { demoCheckoutBodySchema } from '../demo/index.js';
import { API_PREFIX, type RequestSchemas } from './routes.js';
import { sandboxPayBodySchema } from './sandbox.js';

export const OPENAPI_PATH = '/openapi.json';

type Method = 'get' | 'post';
type Security = 'apiKey' | 'adminToken';

export interface DocumentedResponse {
  description: string;
  /** Parses the body (JSON, or the text for a non-JSON content type). */
  schema: ZodType;
  contentType: string;
  /** An error response: documented once under components.responses and referenced. */
  errorKind?: ErrorKind;
}

/** One route, described with the very schemas that validate it; the document is built from these. */
export interface Operation {
  operationId: string;
  method: Method;
  /** OpenAPI form: `{txId}` for a path parameter. */
  path: string;
  summary: string;
  security?: Security;
  query?: ZodType;
  body?: ZodType;
  responses: Record<number, DocumentedResponse>;
}

const JSON_TYPE = 'application/json';

const ERROR_TEXT: Record<ErrorKind, string> = {
  bad_request: 'Malformed JSON, wrong types, unknown fields, a bad amount or id',
  unauthorized: 'Missing, malformed or unknown key or token',
  forbidden: 'The admin API is disabled (no ADMIN_TOKEN configured)',
  not_found: 'No such transaction (for this merchant)',
  conflict: 'The request conflicts with the current state (adds `status` when terminal)',
  gone: 'The proposal is no longer payable (adds `status`)',
  payload_too_large: 'The body is over BODY_LIMIT_BYTES',
  unsupported_media_type: 'A body that is not JSON',
  too_many_requests: 'Over a REST rate limit; see Retry-After',
  internal: 'Unexpected server error',
  unavailable: 'The node is shutting down',
};

/** Errors every body-taking route can answer besides its own. */
const BODY_ERRORS: ErrorKind[] = ['bad_request', 'payload_too_large', 'unsupported_media_type'];
const COMMON_ERRORS: ErrorKind[] = ['too_many_requests', 'internal'];

function json(description: string, schema: ZodType): DocumentedResponse {
  return { description, schema, contentType: JSON_TYPE };
}

function withErrors(
  success: Record<number, DocumentedResponse>,
  kinds: ErrorKind[],
): Record<number, DocumentedResponse> {
  const responses = { ...success };
  for (const kind of new Set([...kinds, ...COMMON_ERRORS])) {
    responses[httpStatusOf(kind)] = errorResponse(kind);
  }
  return responses;
}

function errorResponse(kind: ErrorKind): DocumentedResponse {
  return { ...json(ERROR_TEXT[kind], errorBodySchema(kind)), errorKind: kind };
}

/**
 * Every API route the node serves; the sandbox pay route and the demo shop's JSON routes only in
 * sandbox mode (the demo page itself, `/` and its scripts, is not API and is not listed).
 */
export function operations(schemas: RequestSchemas, options: { sandbox: boolean }): Operation[] {
  const list: Operation[] = [
    {
      operationId: 'registerMerchant',
      method: 'post',
      path: `${API_PREFIX}/merchants`,
      summary: 'Register a merchant; answers its API key once',
      security: 'adminToken',
      body: schemas.registerMerchantBody,
      responses: withErrors({ 201: json('Registered', registeredMerchantSchema) }, [
        ...BODY_ERRORS,
        'unauthorized',
        'forbidden',
        'conflict',
      ]),
    },
    {
      operationId: 'createProposal',
      method: 'post',
      path: `${API_PREFIX}/proposals`,
      summary: 'Create a payment proposal',
      security: 'apiKey',
      body: schemas.createProposalBody,
      responses: withErrors({ 201: json('Created', createdProposalSchema) }, [
        ...BODY_ERRORS,
        'unauthorized',
      ]),
    },
    {
      operationId: 'getTransactionStatus',
      method: 'get',
      path: `${API_PREFIX}/transactions/{txId}/status`,
      summary: 'Current status; with `since`, the transitions after that version',
      security: 'apiKey',
      query: schemas.statusQuery,
      responses: withErrors({ 200: json('The status', transactionStatusSchema) }, [
        'bad_request',
        'unauthorized',
        'not_found',
      ]),
    },
    {
      operationId: 'cancelTransaction',
      method: 'post',
      path: `${API_PREFIX}/transactions/{txId}/cancel`,
      summary: 'Cancel a pending transaction',
      security: 'apiKey',
      body: schemas.emptyBody,
      responses: withErrors({ 200: json('Cancelled', cancelledSchema) }, [
        ...BODY_ERRORS,
        'unauthorized',
        'not_found',
        'conflict',
      ]),
    },
    {
      operationId: 'getIntent',
      method: 'get',
      path: `${API_PREFIX}/intents/{txId}`,
      summary: 'The proposal document a wallet resolves (public, payable proposals only)',
      responses: withErrors({ 200: json('The proposal document', proposalDocumentSchema) }, [
        'bad_request',
        'not_found',
        'gone',
      ]),
    },
    {
      operationId: 'getMetrics',
      method: 'get',
      path: '/metrics',
      summary: 'Prometheus metrics (never rate-limited)',
      responses: {
        200: { description: 'Metrics', schema: metricsTextSchema, contentType: 'text/plain' },
        500: errorResponse('internal'),
      },
    },
    {
      operationId: 'getHealth',
      method: 'get',
      path: '/health',
      summary: 'Liveness: the process is up (never rate-limited)',
      responses: { 200: json('Up', healthSchema) },
    },
    {
      operationId: 'getReady',
      method: 'get',
      path: '/ready',
      summary:
        'Readiness: store reachable, bus subscribed, indexer not stalled (never rate-limited)',
      responses: {
        200: json('Ready', readinessSchema),
        503: json('Not ready: `failing` names the checks', readinessSchema),
      },
    },
    {
      operationId: 'getOpenApi',
      method: 'get',
      path: OPENAPI_PATH,
      summary: 'This document',
      responses: withErrors({ 200: json('OpenAPI 3.1 document', z.looseObject({})) }, []),
    },
  ];
  if (options.sandbox) {
    list.push({
      operationId: 'sandboxPay',
      method: 'post',
      path: '/sandbox/transactions/{txId}/pay',
      summary: "Sandbox only: the buyer's wallet pays, optionally wrongly",
      body: sandboxPayBodySchema,
      responses: withErrors({ 202: json('Submitted to the sandbox chain', sandboxPaidSchema) }, [
        ...BODY_ERRORS,
        'not_found',
        'conflict',
      ]),
    });
    list.push(...demoOperations(schemas));
  }
  return list;
}

/** The demo shop's backend: the page calls these instead of the merchant-key routes. */
function demoOperations(schemas: RequestSchemas): Operation[] {
  return [
    {
      operationId: 'demoCheckout',
      method: 'post',
      path: '/demo/checkout',
      summary: 'Sandbox demo shop: create a proposal for catalogue items, as the demo merchant',
      body: demoCheckoutBodySchema,
      responses: withErrors({ 201: json('Created', createdProposalSchema) }, BODY_ERRORS),
    },
    {
      operationId: 'demoTransactionStatus',
      method: 'get',
      path: '/demo/transactions/{txId}/status',
      summary: "Sandbox demo shop: a demo merchant transaction's status (the SDK's pollUrl)",
      query: schemas.statusQuery,
      responses: withErrors({ 200: json('The status', transactionStatusSchema) }, [
        'bad_request',
        'not_found',
      ]),
    },
    {
      operationId: 'demoCancel',
      method: 'post',
      path: '/demo/transactions/{txId}/cancel',
      summary: 'Sandbox demo shop: cancel a pending demo merchant transaction',
      body: schemas.emptyBody,
      responses: withErrors({ 200: json('Cancelled', cancelledSchema) }, [
        ...BODY_ERRORS,
        'not_found',
        'conflict',
      ]),
    },
  ];
}

type JsonObject = Record<string, unknown>;

/** A schema as JSON Schema 2020-12 (the dialect of OpenAPI 3.1), without its `$schema` line. */
export function jsonSchema(schema: ZodType, io: 'input' | 'output'): JsonObject {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io }) as JsonObject;
  return rest;
}

function parameters(operation: Operation): JsonObject[] {
  const list: JsonObject[] = [];
  if (operation.path.includes('{txId}')) {
    list.push({
      name: 'txId',
      in: 'path',
      required: true,
      schema: jsonSchema(transactionIdSchema, 'input'),
    });
  }
  if (operation.query) {
    const query = jsonSchema(operation.query, 'input') as {
      properties?: Record<string, JsonObject>;
      required?: string[];
    };
    for (const [name, schema] of Object.entries(query.properties ?? {})) {
      list.push({ name, in: 'query', required: query.required?.includes(name) ?? false, schema });
    }
  }
  return list;
}

function responseObject(response: DocumentedResponse): JsonObject {
  const io = response.contentType === JSON_TYPE ? 'output' : 'input';
  return {
    description: response.description,
    ...(response.errorKind === 'too_many_requests'
      ? { headers: { 'Retry-After': { $ref: '#/components/headers/RetryAfter' } } }
      : {}),
    content: { [response.contentType]: { schema: jsonSchema(response.schema, io) } },
  };
}

function operationObject(operation: Operation): JsonObject {
  const params = parameters(operation);
  const body = operation.body;
  return {
    operationId: operation.operationId,
    summary: operation.summary,
    security: operation.security ? [{ [operation.security]: [] }] : [],
    ...(params.length > 0 ? { parameters: params } : {}),
    ...(body
      ? {
          requestBody: {
            // A body the schema accepts as absent (`.optional()`) need not be sent.
            required: !body.safeParse(undefined).success,
            content: { [JSON_TYPE]: { schema: jsonSchema(body, 'input') } },
          },
        }
      : {}),
    responses: Object.fromEntries(
      Object.entries(operation.responses).map(([status, response]) => [
        status,
        response.errorKind
          ? { $ref: `#/components/responses/${response.errorKind}` }
          : responseObject(response),
      ]),
    ),
  };
}

export function buildOpenApiDocument(list: Operation[]): JsonObject {
  const paths: Record<string, Record<string, JsonObject>> = {};
  const errors: Record<string, JsonObject> = {};
  for (const operation of list) {
    (paths[operation.path] ??= {})[operation.method] = operationObject(operation);
    for (const response of Object.values(operation.responses)) {
      if (response.errorKind) errors[response.errorKind] ??= responseObject(response);
    }
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'identipay-status',
      version: '1.0.0',
      description:
        'Real-time payment status for identiPay merchants. The WebSocket endpoint ' +
        '`/ws/transactions/{txId}` and every message are described in docs/PROTOCOL.md.',
    },
    paths,
    components: {
      // One `{error, message}` response per error kind, referenced by every route that answers it.
      responses: errors,
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: "A merchant's API key (ips_…)" },
        adminToken: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN' },
      },
      headers: {
        RetryAfter: {
          description: 'Whole seconds to wait before retrying',
          schema: { type: 'integer', minimum: 1 },
        },
      },
    },
  };
}

/** Serves the document, built once from the schemas the routes validate with. */
export function registerOpenApi(app: FastifyInstance, list: Operation[]): void {
  const document = buildOpenApiDocument(list);
  app.get(OPENAPI_PATH, async () => document);
}
