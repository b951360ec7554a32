import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandboxChain, type SandboxChain } from '../src/chain/index.js';
import { API } from './support/http.js';
import { createProposal, demoKey, startTestNode, type TestNode } from './support/node.js';
import { postgresForTests, type TestDatabase } from './support/postgres.js';
import { waitFor } from './support/wait.js';

const pg = await postgresForTests();

describe.skipIf(!pg.available)('the indexer role on a shared Postgres', () => {
  let database: TestDatabase;
  let chain: SandboxChain;
  const nodes: TestNode[] = [];

  beforeAll(async () => {
    database = await pg.createDatabase();
    chain = await startSandboxChain({ checkpointIntervalMs: 100 });
  });
  afterAll(async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    await chain?.stop();
    await database?.drop();
  });

  const start = async () => {
    const node = await startTestNode(
      { SANDBOX_CHAIN_URL: chain.url, CHAIN_POLL_MS: '50' },
      { kind: 'postgres', url: database.url },
    );
    nodes.push(node);
    return node;
  };
  const leaders = (candidates: TestNode[]) =>
    candidates.filter((node) => node.indexer.status().role === 'leader');

  async function payAndAwaitSettled(via: TestNode): Promise<void> {
    const txId = await createProposal(via);
    await via.api('POST', `/sandbox/transactions/${txId}/pay`);
    await waitFor(async () => {
      const rest = await via.api('GET', `${API}/transactions/${txId}/status`, {
        key: demoKey(via),
      });
      return rest.body.status === 'settled';
    }, 'the settlement');
  }

  it('has exactly one active indexer, and a standby takes over when it stops', async () => {
    const a = await start();
    const b = await start();
    await waitFor(() => leaders([a, b]).length === 1, 'one leader');
    const [leader] = leaders([a, b]);
    const standby = leader === a ? b : a;
    expect(standby.indexer.status().role).toBe('standby');
    await payAndAwaitSettled(standby);

    await leader?.stop();
    await waitFor(
      () => standby.indexer.status().role === 'leader',
      'the standby to take over',
      10_000,
    );
    await payAndAwaitSettled(standby);
  });

  it('moves the role when the leader loses its database session', async () => {
    const c = await start();
    const running = nodes.filter((node) => node.indexer.status().role !== 'stopped');
    await waitFor(() => leaders(running).length === 1, 'one leader');
    const [leader] = leaders(running);
    // Kill the session that holds the advisory lock, as a network cut or a DB failover would.
    const admin = postgres(database.url, { max: 1, onnotice: () => {} });
    try {
      await admin`select pg_terminate_backend(pid) from pg_locks
                  where locktype = 'advisory' and granted and database = (
                    select oid from pg_database where datname = current_database())`;
    } finally {
      await admin.end();
    }
    await waitFor(
      () => leaders(running).length === 1 && leaders(running)[0] !== leader,
      'another node to take the role',
      15_000,
    );
    await payAndAwaitSettled(c);
  });
});
