import type { FastifyRequest } from 'fastify';
import type { z, ZodType } from 'zod';
import { badRequest } from '../errors.js';
import { isTransactionId } from '../wire/index.js';
import { fromZod } from './errors.js';

export function parse<T extends ZodType>(schema: T, body: unknown): z.output<T> {
  const result = schema.safeParse(body);
  if (!result.success) throw fromZod(result.error);
  return result.data;
}

export function transactionIdParam(request: FastifyRequest): string {
  const { txId } = request.params as { txId: string };
  if (!isTransactionId(txId)) throw badRequest('Invalid transaction id: expected a UUID');
  return txId.toLowerCase();
}
