import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import postgres from 'postgres';
import { PROJECT_ROOT } from '../config/index.js';
import { DrizzlePGlite } from './pglite-client.js';
import { schema } from './schema.js';

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;
/** A transaction handle inside `db.transaction(…)`. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

export interface Database {
  db: Db;
  kind: 'pglite' | 'postgres';
  close(): Promise<void>;
}

export type DatabaseLocation =
  | { kind: 'postgres'; url: string; maxConnections?: number }
  | { kind: 'pglite'; dataDir: string | undefined };

const MIGRATIONS_FOLDER = path.join(PROJECT_ROOT, 'drizzle');
/** Any fixed number: every node takes this advisory lock around migrations. */
const MIGRATION_LOCK_KEY = 7_301_402_001;

/** Opens the store and brings its schema up to date before anything else touches it. */
export async function openDatabase(location: DatabaseLocation): Promise<Database> {
  return location.kind === 'postgres'
    ? openPostgres(location.url, location.maxConnections ?? 10)
    : openPglite(location.dataDir);
}

async function openPostgres(url: string, maxConnections: number): Promise<Database> {
  const client = postgres(url, {
    max: maxConnections,
    onnotice: () => {},
  });
  const db = drizzlePostgres(client, { schema });
  const lock = await client.reserve();
  try {
    await lock`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
    await migratePostgres(db, { migrationsFolder: MIGRATIONS_FOLDER });
  } finally {
    await lock`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`.catch(() => {});
    lock.release();
  }
  return {
    db: db as unknown as Db,
    kind: 'postgres',
    close: () => client.end({ timeout: 5 }),
  };
}

async function openPglite(dataDir: string | undefined): Promise<Database> {
  if (dataDir) await mkdir(dataDir, { recursive: true });
  const client = new DrizzlePGlite(dataDir);
  await client.waitReady;
  const db = drizzlePglite({ client, schema });
  await migratePglite(db, { migrationsFolder: MIGRATIONS_FOLDER });
  return {
    db: db as unknown as Db,
    kind: 'pglite',
    close: () => client.close(),
  };
}
