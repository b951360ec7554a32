import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../src/config/index.js';
import { hashApiKey } from '../src/merchants/index.js';
import { openStore } from '../src/store/index.js';
import { ensureBuilt } from './support/process.js';

const run = promisify(execFile);
const CLI = path.join(PROJECT_ROOT, 'dist', 'cli', 'index.js');

async function cli(args: string[], dataDir: string) {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('identipay-status merchant create', () => {
  let dataDir: string;
  beforeAll(async () => {
    ensureBuilt();
    dataDir = await mkdtemp(path.join(tmpdir(), 'ips-cli-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  const shop = [
    '--name',
    'Corner Shop',
    '--sui-address',
    '0x2a',
    '--hostname',
    'corner.example.com',
    '--public-key',
    'ab'.repeat(32),
  ];

  it('registers a merchant, prints its key once, and stores only the hash', async () => {
    const result = await cli(['merchant', 'create', ...shop], dataDir);
    expect(result.code, result.stderr).toBe(0);
    const printed = JSON.parse(result.stdout) as {
      merchantId: string;
      did: string;
      apiKey: string;
    };
    expect(printed.did).toBe(`did:identipay:corner.example.com:${printed.merchantId}`);
    const store = await openStore({ kind: 'pglite', dataDir });
    try {
      const merchant = await store.merchants.byApiKeyHash(hashApiKey(printed.apiKey));
      expect(merchant).toMatchObject({
        id: printed.merchantId,
        suiAddress: `0x${'0'.repeat(62)}2a`,
      });
      const dump = JSON.stringify(await store.database.db.execute('select * from merchants'));
      expect(dump).not.toContain(printed.apiKey);
    } finally {
      await store.close();
    }
  });

  it('refuses a duplicate hostname with a clear message', async () => {
    const result = await cli(['merchant', 'create', ...shop], dataDir);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('already exists');
  });

  it('exits 2 with the problem named for invalid or unknown options', async () => {
    const invalid = await cli(
      ['merchant', 'create', ...shop.slice(0, 6), '--public-key', 'xyz'],
      dataDir,
    );
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain('publicKey');
    const unknown = await cli(['merchant', 'create', '--colour', 'red'], dataDir);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('--colour');
  });
});
