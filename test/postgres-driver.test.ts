import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../src/config/index.js';
import { postgresForTests, type TestDatabase } from './support/postgres.js';

const pg = await postgresForTests();

/**
 * In its own process, so that what this guards against shows as an exit code: a transaction
 * whose backend dies mid-query. postgres.js 3.4.9 then sent the transaction's own ROLLBACK to
 * the closed connection from a setImmediate, and the TypeError took the process down (a
 * Postgres restart or failover crashed every node with a batch in flight). patches/ fixes it.
 */
const SCENARIO = `
import postgres from 'postgres';
const url = process.env.SCENARIO_DATABASE_URL;
const sql = postgres(url, { max: 2, onnotice: () => {} });
const admin = postgres(url, { max: 1, onnotice: () => {} });
let began;
const backendOf = new Promise((resolve) => (began = resolve));
const transaction = sql.begin(async (tx) => {
  const [{ backend }] = await tx\`select pg_backend_pid() as backend\`;
  began(backend);
  await tx\`select pg_sleep(5)\`;
});
const outcome = transaction.then(() => 'committed', (error) => error.code ?? error.message);
await admin\`select pg_terminate_backend(\${await backendOf})\`;
const result = await outcome;
// What the driver scheduled for the dead connection (setImmediate) runs before this resolves.
await new Promise((resolve) => setImmediate(resolve));
const [{ alive }] = await sql\`select 1 as alive\`;
console.log(JSON.stringify({ result, alive }));
// A connection that lost a query waits for an answer that never comes: end() needs its timeout.
await Promise.all([sql.end({ timeout: 1 }), admin.end({ timeout: 1 })]);
`;

function runScenario(
  url: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', SCENARIO], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, SCENARIO_DATABASE_URL: url },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe.skipIf(!pg.available)(
  'the Postgres driver, its connection killed under a transaction',
  () => {
    let database: TestDatabase;
    beforeAll(async () => {
      database = await pg.createDatabase();
    });
    afterAll(async () => {
      await database?.drop();
    });

    it('fails the transaction, keeps the process alive and serves the next query', async () => {
      const { code, stdout, stderr } = await runScenario(database.url);
      expect(stderr).not.toMatch(/TypeError/);
      expect(code).toBe(0);
      expect(JSON.parse(stdout)).toEqual({ result: 'CONNECTION_CLOSED', alive: 1 });
    }, 30_000);
  },
);
