import { expect } from 'vitest';
import type { TestNode } from './node.js';
import { rowCounts } from './store.js';

export const API = '/api/identipay/v1';

export type ApiResponse = Awaited<ReturnType<TestNode['api']>>;

/**
 * Sends a request that must be refused: checks the status, that the body is the one error shape
 * `{error, message}` served as JSON, and that no table gained or lost a row.
 */
export async function expectRejected(
  node: TestNode,
  send: () => Promise<ApiResponse>,
  status: number,
): Promise<ApiResponse> {
  const before = await rowCounts(node.store.database.db);
  const response = await send();
  expect(response.status, JSON.stringify(response.body)).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  expect(response.body).toMatchObject({ error: expect.any(String), message: expect.any(String) });
  expect(await rowCounts(node.store.database.db)).toEqual(before);
  return response;
}

export const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
