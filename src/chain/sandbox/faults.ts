/**
 * Fault injection for soak runs: for a while the chain's GraphQL endpoint answers HTTP 500
 * (`error`) or holds every request until the window ends (`stall`; a client whose timeout is
 * shorter gives up first). Off unless the chain was started with `faults: true`
 * (`SANDBOX_CHAIN_FAULTS=1`); payments and checkpoints carry on meanwhile, so settlements made
 * during a fault are waiting for the indexer when it ends.
 */
export const FAULT_MODES = ['error', 'stall', 'none'] as const;
export type FaultMode = (typeof FAULT_MODES)[number];

/** The longest window one request may ask for. */
export const MAX_FAULT_MS = 600_000;

export interface FaultState {
  mode: FaultMode;
  remainingMs: number;
  /** GraphQL requests held by a stall right now. */
  held: number;
}

export class ChainFaults {
  private mode: FaultMode = 'none';
  private endsAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private held: (() => void)[] = [];

  /** Starts a window of `mode` (replacing the current one); `none` ends the current one now. */
  inject(mode: FaultMode, durationMs: number): void {
    this.clear();
    if (mode === 'none') return;
    this.mode = mode;
    this.endsAt = Date.now() + durationMs;
    this.timer = setTimeout(() => this.clear(), durationMs);
    this.timer.unref();
  }

  /** Ends the window and lets held requests through. */
  clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.mode = 'none';
    for (const release of this.held.splice(0)) release();
  }

  /** Called before serving a GraphQL request: `error` means answer 500; a stall waits here. */
  async gate(): Promise<'error' | 'pass'> {
    if (this.mode === 'error') return 'error';
    if (this.mode === 'stall') await new Promise<void>((resolve) => this.held.push(resolve));
    return 'pass';
  }

  state(): FaultState {
    const remainingMs = this.mode === 'none' ? 0 : Math.max(0, this.endsAt - Date.now());
    return { mode: this.mode, remainingMs, held: this.held.length };
  }
}

/** Validates a `POST /sandbox/faults` body; returns an error message or the request. */
export function faultRequestFromJson(
  body: unknown,
): { mode: FaultMode; durationMs: number } | string {
  if (typeof body !== 'object' || body === null) return 'body must be an object';
  const { mode, durationMs } = body as Record<string, unknown>;
  if (!FAULT_MODES.includes(mode as FaultMode)) return `mode must be ${FAULT_MODES.join(', ')}`;
  if (mode === 'none') return { mode, durationMs: 0 };
  if (!Number.isInteger(durationMs) || (durationMs as number) < 1) {
    return 'durationMs must be a positive integer';
  }
  if ((durationMs as number) > MAX_FAULT_MS) return `durationMs must be at most ${MAX_FAULT_MS}`;
  return { mode: mode as FaultMode, durationMs: durationMs as number };
}
