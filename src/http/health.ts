import type { FastifyInstance } from 'fastify';

/** What one readiness check found: `ok`, or why not. */
export interface CheckResult {
  ok: boolean;
  detail?: string;
}

/** Readiness checks by name (`store`, `bus`, `indexer`); each must answer quickly. */
export type ReadinessChecks = Record<string, () => CheckResult | Promise<CheckResult>>;

/** A check that has not answered within this is failing (a hung database is not ready). */
const CHECK_TIMEOUT_MS = 2_000;

/**
 * `/health`: the process is up and serving HTTP (liveness: restart when this fails).
 * `/ready`: every check passes (readiness: send traffic here). 503 names each failing check,
 * so an operator sees at once which dependency is down.
 */
export function registerHealthRoutes(app: FastifyInstance, checks: ReadinessChecks): void {
  app.get('/health', async () => ({ status: 'ok' }));
  app.get('/ready', async (_request, reply) => {
    const names = Object.keys(checks);
    const results = await Promise.all(names.map((name) => runCheck(checks[name])));
    const body: Record<string, CheckResult> = {};
    names.forEach((name, index) => (body[name] = results[index] ?? { ok: false }));
    const failing = names.filter((name) => !body[name]?.ok);
    return reply
      .code(failing.length === 0 ? 200 : 503)
      .send({ status: failing.length === 0 ? 'ready' : 'not_ready', failing, checks: body });
  });
}

async function runCheck(check: ReadinessChecks[string] | undefined): Promise<CheckResult> {
  if (!check) return { ok: false, detail: 'no such check' };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<CheckResult>((resolve) => {
    timer = setTimeout(
      () => resolve({ ok: false, detail: `no answer within ${CHECK_TIMEOUT_MS} ms` }),
      CHECK_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([Promise.resolve().then(check), timeout]);
  } catch (error) {
    // The code only: a driver's message may name hosts or users.
    const code = (error as { code?: unknown }).code;
    return { ok: false, detail: `failed (${typeof code === 'string' ? code : 'error'})` };
  } finally {
    clearTimeout(timer);
  }
}

export interface NodeReadinessDeps {
  /** A trivial query against the store. */
  pingStore(): Promise<void>;
  bus: { readonly subscribed: boolean };
  indexer(): { role: string; progressAt: Date | undefined } | undefined;
  maxIndexerLagMs: number;
  now(): Date;
}

/**
 * The node's checks: the store answers, the bus is subscribed (else this node would miss other
 * nodes' transitions), and the indexer is not stalled: a standby is fine, a leader must have
 * processed a batch (sources yield one per poll, events or not) within `maxIndexerLagMs`.
 */
export function nodeReadiness(deps: NodeReadinessDeps): ReadinessChecks {
  return {
    store: async () => {
      await deps.pingStore();
      return { ok: true };
    },
    bus: () => (deps.bus.subscribed ? { ok: true } : { ok: false, detail: 'not subscribed' }),
    indexer: () => {
      const status = deps.indexer();
      if (!status || status.role === 'stopped') return { ok: false, detail: 'stopped' };
      if (status.role !== 'leader') return { ok: true, detail: status.role };
      const idleMs = deps.now().getTime() - (status.progressAt?.getTime() ?? 0);
      return idleMs > deps.maxIndexerLagMs
        ? { ok: false, detail: `leader, no batch for ${idleMs} ms` }
        : { ok: true, detail: 'leader' };
    },
  };
}
