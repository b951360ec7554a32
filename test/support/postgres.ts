import { randomBytes } from 'node:crypto';
import postgres from 'postgres';

/** The machine's Postgres (CI sets DATABASE_URL to it); each test run gets its own database. */
export const ADMIN_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

export interface PostgresForTests {
  available: boolean;
  reason: string;
  createDatabase(): Promise<TestDatabase>;
}

async function probe(): Promise<string | undefined> {
  const sql = postgres(ADMIN_URL, { max: 1, connect_timeout: 3, onnotice: () => {} });
  try {
    await sql`select 1`;
    return undefined;
  } catch (error) {
    return `Postgres at ${redact(ADMIN_URL)} is unreachable (${(error as Error).message})`;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/**
 * Suites that need Postgres call this at the top. In CI an unreachable Postgres is a failure;
 * elsewhere the suite is skipped and the reason printed.
 */
export async function postgresForTests(): Promise<PostgresForTests> {
  const problem = await probe();
  if (problem && process.env.CI === 'true') {
    throw new Error(`${problem}; CI requires it`);
  }
  if (problem) console.warn(`[skip] ${problem}`);
  return {
    available: !problem,
    reason: problem ?? 'available',
    async createDatabase() {
      const name = `ips_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
      const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
      await admin.unsafe(`create database "${name}"`);
      await admin.end();
      return {
        url: withDatabase(ADMIN_URL, name),
        async drop() {
          const cleanup = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
          await cleanup.unsafe(`drop database if exists "${name}" with (force)`);
          await cleanup.end();
        },
      };
    },
  };
}
