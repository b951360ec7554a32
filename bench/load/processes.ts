/**
 * Server processes as the compare bench sees them from outside: spawned with the memory probe
 * preloaded, killed by PID, and measured through /proc (RSS) and the probe (heap after a GC),
 * summed over a process and its descendants (the service's workers, the reference's shards).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROJECT_ROOT } from '../../src/config/index.js';

const PROBE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'probe.mjs');
const probeDir = mkdtempSync(path.join(tmpdir(), 'bench-probe-'));

export interface ServerProcess {
  child: ChildProcess;
  pid: number;
  output(): string;
  kill(): Promise<void>;
}

let logCount = 0;

/**
 * `node --expose-gc --import probe.mjs [--import tsx] <script>`, its stdout and stderr going to a
 * file (a log file never blocks the writer, as a pipe the bench reads late would); resolves with
 * what `ready` finds in that output.
 */
export async function spawnServer<T>(
  script: string,
  env: Record<string, string>,
  ready: (output: string) => T | undefined,
  options: { typescript?: boolean; timeoutMs?: number } = {},
): Promise<{ server: ServerProcess; info: T }> {
  const execArgv = ['--expose-gc', '--import', PROBE];
  // Profiles are written when the process exits on its own (kill() asks with SIGTERM first).
  const profiles = process.env.BENCH_CPU_PROF;
  if (profiles) execArgv.push('--cpu-prof', `--cpu-prof-dir=${profiles}`);
  if (options.typescript) execArgv.push('--import', 'tsx');
  const logFile = path.join(probeDir, `output-${++logCount}.log`);
  const log = openSync(logFile, 'w');
  const child = spawn(process.execPath, [...execArgv, script], {
    cwd: PROJECT_ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      ...env,
      BENCH_PROBE_DIR: probeDir,
      ...(process.env.BENCH_HEAP_SNAPSHOT ? { BENCH_HEAP_SNAPSHOT: '1' } : {}),
    },
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  const output = () => readFileSync(logFile, 'utf8');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const server: ServerProcess = {
    child,
    pid: child.pid ?? 0,
    output,
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    const found = ready(output());
    if (found !== undefined) return { server, info: found };
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${script} exited with ${child.exitCode ?? child.signalCode}:\n${output()}`);
    }
    if (Date.now() > deadline) {
      await server.kill();
      throw new Error(`${script} did not start in time:\n${output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** `pid` and every process below it. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command may contain spaces and parentheses: the fields after the last ')' are fixed.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // The process ended while we looked.
    }
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i] as number) ?? []));
  return tree;
}

/** Open files of each process in the trees of `roots` (0 once gone): sockets, where they went. */
export function openFiles(roots: readonly number[]): Map<number, number> {
  const files = new Map<number, number>();
  for (const pid of roots.flatMap((root) => processTree(root))) {
    try {
      files.set(pid, readdirSync(`/proc/${pid}/fd`).length);
    } catch {
      files.set(pid, 0);
    }
  }
  return files;
}

const CLOCK_TICKS_PER_SECOND = 100;

/** User + system CPU seconds `pid` has used so far (0 once it is gone). */
function cpuOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the command.
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** CPU seconds used so far by the trees of `roots`. */
export function cpuSeconds(roots: readonly number[]): number {
  return roots.flatMap((root) => processTree(root)).reduce((sum, pid) => sum + cpuOf(pid), 0);
}

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

function hasProbe(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(PROBE);
  } catch {
    return false;
  }
}

export interface Memory {
  rssBytes: number;
  heapUsedBytes: number;
  processes: number;
}

/**
 * RSS and V8 heap in use, after a full GC in each process, summed over the trees of `roots`.
 * Only processes that preloaded the probe are signalled (SIGUSR2 would kill any other).
 */
export async function measureMemory(roots: readonly number[]): Promise<Memory> {
  const pids = roots.flatMap((root) => processTree(root)).filter(hasProbe);
  const asked = Date.now();
  for (const pid of pids) process.kill(pid, 'SIGUSR2');
  const heaps = await Promise.all(pids.map((pid) => readProbe(pid, asked)));
  return {
    rssBytes: pids.reduce((sum, pid) => sum + rssBytes(pid), 0),
    heapUsedBytes: heaps.reduce((sum, heap) => sum + heap, 0),
    processes: pids.length,
  };
}

async function readProbe(pid: number, after: number): Promise<number> {
  const file = path.join(probeDir, `${pid}.json`);
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (existsSync(file)) {
      const report = JSON.parse(readFileSync(file, 'utf8')) as { heapUsed: number; at: number };
      if (report.at >= after) return report.heapUsed;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`process ${pid} did not report its memory`);
}

export function removeProbeFiles(): void {
  rmSync(probeDir, { recursive: true, force: true });
}
