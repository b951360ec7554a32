/**
 * What a service process costs besides connects and fan-outs, each measured on its own:
 *
 * - at rest: one process (PGlite) holding idle sockets, its CPU over a window, with the
 *   heartbeat at its default interval and with it so long that no ping falls in the window;
 *   the difference, divided by the pings sent, is what one ping costs (its pong included);
 * - creating proposals through the merchant API, 16 requests in flight: proposals per second
 *   and the server's CPU per proposal (PGlite, and Postgres when given).
 */
import { setTimeout as delay } from 'node:timers/promises';
import { scratchDir } from './compare/index.js';
import { startService } from './compare/systems.js';
import { LoadGenerators } from './load/index.js';
import { cpuSeconds } from './load/processes.js';
import type { Row } from './report.js';

const DEFAULT_HEARTBEAT_MS = 30_000;
/** Longer than the whole measurement: no ping is sent. */
const NO_HEARTBEAT_MS = 600_000;

/** Server CPU (% of a core) over `windowMs` with `sockets` idle sockets open. */
async function cpuAtRest(sockets: number, heartbeatMs: number, windowMs: number): Promise<number> {
  const scratch = scratchDir();
  const system = await startService({
    dataDir: scratch.dir,
    env: { HEARTBEAT_MS: String(heartbeatMs) },
  });
  try {
    const ids = await system.create(sockets / 2);
    const generators = await LoadGenerators.start(sockets);
    try {
      const urls = [...ids, ...ids].map((id) => system.url(id));
      await generators.connect(urls, 256, sockets);
      // The heartbeat's first round, begun before the sockets, may end in a catch-up burst.
      await delay(Math.min(heartbeatMs, DEFAULT_HEARTBEAT_MS));
      const before = cpuSeconds(system.roots());
      await delay(windowMs);
      return ((cpuSeconds(system.roots()) - before) / (windowMs / 1000)) * 100;
    } finally {
      await generators.close();
    }
  } finally {
    await system.stop();
    scratch.cleanup();
  }
}

export async function atRest(sockets = 10_000, windowMs = DEFAULT_HEARTBEAT_MS): Promise<Row[]> {
  const withHeartbeat = await cpuAtRest(sockets, DEFAULT_HEARTBEAT_MS, windowMs);
  const without = await cpuAtRest(sockets, NO_HEARTBEAT_MS, windowMs);
  const pingsPerSecond = (sockets * 1000) / DEFAULT_HEARTBEAT_MS;
  return [
    {
      figure: `server CPU at rest, ${sockets} idle sockets, HEARTBEAT_MS 30 s`,
      value: withHeartbeat,
      unit: '% of a core',
    },
    {
      figure: `server CPU at rest, ${sockets} idle sockets, no ping in the window`,
      value: without,
      unit: '% of a core',
    },
    {
      figure: 'server CPU per heartbeat ping (the difference, per ping)',
      value: (((withHeartbeat - without) / 100) * 1e6) / pingsPerSecond,
      unit: 'µs',
    },
  ];
}

export async function proposalCreation(
  label: string,
  databaseUrl: string | undefined,
  count = 1000,
): Promise<Row[]> {
  const scratch = scratchDir();
  const system = await startService({ dataDir: scratch.dir, databaseUrl });
  try {
    await system.create(200); // warm-up: code compiled, the merchant registered
    const cpu0 = cpuSeconds(system.roots());
    const started = performance.now();
    await system.create(count);
    const seconds = (performance.now() - started) / 1000;
    const cpuMs = ((cpuSeconds(system.roots()) - cpu0) / count) * 1000;
    return [
      {
        figure: `proposals created (${label}, 16 requests in flight)`,
        value: count / seconds,
        unit: '/s',
      },
      { figure: `server CPU per proposal (${label})`, value: cpuMs, unit: 'ms' },
    ];
  } finally {
    await system.stop();
    scratch.cleanup();
  }
}
