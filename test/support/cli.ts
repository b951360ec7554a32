import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/config/index.js';
import { withTimeout } from './ws-client.js';

const CLI = path.join(PROJECT_ROOT, 'dist', 'cli', 'index.js');

type Line = Record<string, unknown>;

export interface CliProcess {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** The complete stdout lines so far, each parsed as JSON (throws on a line that is not). */
  lines: () => Line[];
  /** Resolves with the first line (already printed or still to come) matching, or times out. */
  line(match: (line: Line) => boolean, what: string): Promise<Line>;
  /** Resolves with the exit code (null when a signal killed it), or times out. */
  exit(timeoutMs?: number): Promise<number | null>;
}

function parseLines(text: string): Line[] {
  return text
    .split('\n')
    .slice(0, -1)
    .map((line) => {
      try {
        return JSON.parse(line) as Line;
      } catch {
        throw new Error(`stdout line is not JSON: ${line}`);
      }
    });
}

/** Starts the built CLI (`node dist/cli/index.js …`) with only PATH and `env` in its environment. */
export function startCli(args: string[], env: Record<string, string> = {}): CliProcess {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const onOutput = new Set<() => void>();
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    for (const listener of onOutput) listener();
  });
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));

  const line = (match: (line: Line) => boolean, what: string) => {
    const found = new Promise<Line>((resolve, reject) => {
      const check = () => {
        try {
          const hit = parseLines(out).find(match);
          if (!hit) return;
          onOutput.delete(check);
          resolve(hit);
        } catch (error) {
          reject(error as Error);
        }
      };
      onOutput.add(check);
      check();
      void exited.then(() => {
        check();
        reject(new Error(`the CLI exited before printing ${what}:\n${out}${err}`));
      });
    });
    return withTimeout(found, 10_000, what);
  };
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    lines: () => parseLines(out),
    line,
    exit: (timeoutMs = 15_000) => withTimeout(exited, timeoutMs, `the CLI (${args[0]}) to exit`),
  };
}

/** Runs one CLI command to its end. */
export async function runCli(args: string[], env: Record<string, string> = {}) {
  const cli = startCli(args, env);
  const code = await cli.exit();
  return { code, stdout: cli.stdout(), stderr: cli.stderr(), lines: cli.lines };
}
