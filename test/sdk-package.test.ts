import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../src/config/index.js';
import { ensureBuilt } from './support/process.js';

const run = promisify(execFile);
const DIST = path.join(PROJECT_ROOT, 'dist');

/** Every file `entry` reaches through import/export specifiers, and any bare specifier met. */
async function importGraph(entry: string): Promise<{ files: Set<string>; bare: Set<string> }> {
  const files = new Set<string>();
  const bare = new Set<string>();
  const pending = [entry];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (files.has(file)) continue;
    files.add(file);
    const text = await readFile(file, 'utf8');
    for (const [, specifier = ''] of text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)) {
      if (!specifier.startsWith('.')) bare.add(specifier);
      // `./x.js` is declared by `./x.d.ts` next to it.
      else pending.push(path.resolve(path.dirname(file), specifier).replace(/\.js$/, extOf(file)));
    }
  }
  return { files, bare };
}
const extOf = (file: string) => (file.endsWith('.d.ts') ? '.d.ts' : '.js');

const CONSUMER = `import { NotFoundError, watchTransaction, type WatchEvent } from 'identipay-status/sdk';
const events: WatchEvent[] = [];
const watch = watchTransaction('550e8400-e29b-41d4-a716-446655440000', {
  baseUrl: 'https://status.example.com',
  since: 1,
  onSettlement: ({ message }) => console.log(message.suiTxDigest.length, message.late),
  onEvent: (event) => events.push(event),
});
void watch.done.then((final) => (final.error instanceof NotFoundError ? 404 : final.status));
`;

describe('the built SDK package entry', () => {
  let consumer: string;
  beforeAll(async () => {
    ensureBuilt();
    // A project outside this one that depends on the package (linked as node_modules would).
    consumer = await mkdtemp(path.join(tmpdir(), 'ips-sdk-consumer-'));
    await mkdir(path.join(consumer, 'node_modules'));
    await symlink(PROJECT_ROOT, path.join(consumer, 'node_modules', 'identipay-status'), 'dir');
  });
  afterAll(async () => {
    if (consumer) await rm(consumer, { recursive: true, force: true });
  });

  it('reaches only the SDK and wire modules, with no package imports, in JS and declarations', async () => {
    for (const entry of ['sdk/index.js', 'sdk/index.d.ts']) {
      const { files, bare } = await importGraph(path.join(DIST, entry));
      expect(bare, entry).toEqual(new Set());
      const folders = new Set([...files].map((file) => path.relative(DIST, path.dirname(file))));
      expect(folders, entry).toEqual(new Set(['sdk', 'wire']));
    }
  });

  it('type-checks a consumer through the types condition, without Node or server types', async () => {
    await writeFile(path.join(consumer, 'consumer.ts'), CONSUMER);
    const tsconfig = {
      compilerOptions: {
        strict: true,
        noEmit: true,
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        target: 'ES2022',
        lib: ['ES2022', 'DOM'],
        types: [],
        skipLibCheck: false,
      },
      files: ['consumer.ts'],
    };
    await writeFile(path.join(consumer, 'tsconfig.json'), JSON.stringify(tsconfig));
    await writeFile(path.join(consumer, 'package.json'), '{"type":"module"}');
    const tsc = path.join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await run(process.execPath, [tsc, '-p', consumer]).catch(
      (error: { stdout: string }) => ({ stdout: error.stdout, failed: true }),
    );
    expect(result.stdout).toBe('');
  });

  it('imports at run time through the package exports', async () => {
    const { stdout } = await run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "const sdk = await import('identipay-status/sdk'); console.log(Object.keys(sdk).sort().join())",
      ],
      { cwd: consumer },
    );
    expect(stdout.trim()).toBe('BadRequestError,NotFoundError,WatchError,watchTransaction');
  });
});
