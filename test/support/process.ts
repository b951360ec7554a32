import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/config/index.js';
import { withTimeout } from './ws-client.js';

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

/** Tests that spawn the real service need dist/ to match src/ (npm test builds it first). */
export function ensureBuilt(): void {
  const main = path.join(PROJECT_ROOT, 'dist', 'main.js');
  let built = 0;
  try {
    built = statSync(main).mtimeMs;
  } catch {
    built = 0;
  }
  // The build configuration counts too: a change there (declarations, say) needs a rebuild.
  const config = statSync(path.join(PROJECT_ROOT, 'tsconfig.build.json')).mtimeMs;
  if (built < Math.max(config, newestMtime(path.join(PROJECT_ROOT, 'src')))) {
    execFileSync(
      process.execPath,
      [path.join(PROJECT_ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
      {
        cwd: PROJECT_ROOT,
        stdio: 'inherit',
      },
    );
  }
}

export interface ServiceProcess {
  child: ChildProcess;
  url: string;
  apiKey: string;
  output: () => string;
  exited: Promise<number | null>;
}

/** Starts `node dist/main.js` with `env` and waits for its banner (URL and demo key). */
export async function spawnService(
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<ServiceProcess> {
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist', 'main.js')], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH ?? '', PORT: '0', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  const banner = new Promise<{ url: string; apiKey: string }>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      const url = /listening on (http:\/\/\S+)/.exec(text)?.[1];
      const apiKey = /API key \(this run only\): (\S+)/.exec(text)?.[1];
      if (url && apiKey) resolve({ url, apiKey });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then((code) =>
      reject(new Error(`service exited with ${code} before starting:\n${text}`)),
    );
  });
  try {
    const { url, apiKey } = await withTimeout(banner, timeoutMs, 'the service banner');
    return { child, url, apiKey, output: () => text, exited };
  } catch (error) {
    // A service that never printed its banner would otherwise outlive the test run.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    throw error;
  }
}
