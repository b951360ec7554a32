import { types } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DrizzlePGlite } from './pglite-client.js';

const keep = (value: string) => value;
/** What drizzle-orm passes with each query (see TEXT_PARSERS). */
const drizzleOptions = {
  rowMode: 'array' as const,
  parsers: { [types.TIMESTAMPTZ]: keep, [types.TIMESTAMP]: keep, [types.DATE]: keep },
};
const QUERY = `select '2026-11-27 12:34:56.789+00'::timestamptz as at, 7::int4 as n,
  true as yes, '{"a":1}'::json as doc, '2026-11-27'::date as day`;

describe('DrizzlePGlite', () => {
  let client: DrizzlePGlite;
  beforeAll(async () => {
    client = new DrizzlePGlite(undefined);
    await client.waitReady;
  });
  afterAll(async () => {
    await client?.close();
  });

  const expected = ['2026-11-27 12:34:56.789+00', 7, true, { a: 1 }, '2026-11-27'];

  it("answers drizzle's queries as drizzle's parsers would: dates as text, the rest parsed", async () => {
    expect((await client.query(QUERY, [], drizzleOptions)).rows).toEqual([expected]);
    const inTransaction = await client.transaction((tx) => tx.query(QUERY, [], drizzleOptions));
    expect(inTransaction.rows).toEqual([expected]);
  });

  it('still applies a parser that changes values, outside and inside a transaction', async () => {
    const options = {
      rowMode: 'array' as const,
      parsers: { [types.TIMESTAMPTZ]: (value: string) => `at ${value}` },
    };
    const [first] = (await client.query<unknown[]>(QUERY, [], options)).rows;
    expect(first?.[0]).toBe('at 2026-11-27 12:34:56.789+00');
    const [second] = (await client.transaction((tx) => tx.query<unknown[]>(QUERY, [], options)))
      .rows;
    expect(second?.[0]).toBe('at 2026-11-27 12:34:56.789+00');
  });

  it('keeps a parser for a type it does not cover', async () => {
    const options = { rowMode: 'array' as const, parsers: { [types.INT4]: keep } };
    const [row] = (await client.query<unknown[]>(QUERY, [], options)).rows;
    expect(row?.[1]).toBe('7');
  });
});
