// Preloaded into every measured server process (`node --expose-gc --import probe.mjs …`; cluster
// workers inherit both flags): on SIGUSR2 it collects garbage and writes the process's memory
// to $BENCH_PROBE_DIR/<pid>.json, so the bench reads the heap of processes it cannot otherwise
// ask (the service's workers, the reference's shards) the same way for both systems.
import { writeFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { writeHeapSnapshot } from 'node:v8';

const dir = process.env.BENCH_PROBE_DIR;
if (dir) {
  process.on('SIGUSR2', () => {
    globalThis.gc?.();
    const usage = process.memoryUsage();
    const file = path.join(dir, `${process.pid}.json`);
    // Written aside then renamed: the bench never reads half a file.
    writeFileSync(`${file}.tmp`, JSON.stringify({ pid: process.pid, ...usage, at: Date.now() }));
    renameSync(`${file}.tmp`, file);
    // For finding what a socket costs: BENCH_HEAP_SNAPSHOT=1 also writes a snapshot each time.
    if (process.env.BENCH_HEAP_SNAPSHOT)
      writeHeapSnapshot(path.join(dir, `${process.pid}-${Date.now()}.heapsnapshot`));
  });
}
