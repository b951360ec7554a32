import { PGlite, types, type QueryOptions, type Transaction } from '@electric-sql/pglite';

/**
 * drizzle-orm hands PGlite these value parsers with every query (dates, times and intervals,
 * and their arrays, stay text: drizzle maps them itself). PGlite merges a query's parsers into
 * a copy of its whole parser table each time, about 250 µs of CPU per query here, whatever the
 * query. So the embedded store is opened with them as its own parsers, and a query that brings
 * only these (each leaving a value as it is) runs without them: the same rows, without the copy.
 */
const TEXT_TYPES = [
  types.TIMESTAMP,
  types.TIMESTAMPTZ,
  types.INTERVAL,
  types.DATE,
  1231, // numeric[]
  1115, // timestamp[]
  1185, // timestamptz[]
  1187, // interval[]
  1182, // date[]
];
const keepText = (value: string): string => value;
const TEXT_PARSERS = Object.fromEntries(TEXT_TYPES.map((type) => [type, keepText]));

/** Options already looked at (drizzle keeps one per prepared query), with what to pass instead. */
const checked = new WeakMap<QueryOptions, QueryOptions>();

function withoutRedundantParsers(options: QueryOptions | undefined): QueryOptions | undefined {
  const parsers = options?.parsers;
  if (!options || !parsers) return options;
  let passed = checked.get(options);
  if (!passed) {
    const probe = 'value-kept-as-text';
    const redundant = Object.entries(parsers).every(
      ([type, parse]) => Number(type) in TEXT_PARSERS && parse(probe) === probe,
    );
    passed = redundant ? { ...options, parsers: undefined } : options;
    checked.set(options, passed);
  }
  return passed;
}

/** A transaction whose queries drop drizzle's redundant parsers as well. */
function lighterTransaction(tx: Transaction): Transaction {
  const lighter = Object.create(tx) as Transaction;
  lighter.query = (query, params, options) =>
    tx.query(query, params, withoutRedundantParsers(options));
  return lighter;
}

/** PGlite as drizzle-orm uses it, without the per-query parser copy (see TEXT_PARSERS). */
export class DrizzlePGlite extends PGlite {
  /** No data folder: an in-memory database (tests). */
  constructor(dataDir: string | undefined) {
    super({ dataDir, parsers: TEXT_PARSERS });
  }

  override query<T>(query: string, params?: unknown[], options?: QueryOptions) {
    return super.query<T>(query, params, withoutRedundantParsers(options));
  }

  override transaction<T>(callback: (tx: Transaction) => Promise<T>): Promise<T> {
    return super.transaction((tx) => callback(lighterTransaction(tx)));
  }
}
