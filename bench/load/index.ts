/**
 * The load generator as the bench drives it: several child processes (bench/load/generator.ts),
 * each holding at most MAX_SOCKETS_PER_GENERATOR sockets from its own 127.0.0.x addresses. The
 * same generator measures the service and the reference.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GeneratorReply, GeneratorRequest, Received } from './protocol.js';

/** Under the 20,000 open files one process may hold here, with room for the rest. */
export const MAX_SOCKETS_PER_GENERATOR = 18_000;
/** Sockets per source address: well inside one address's ~28,000 ephemeral ports. */
const SOCKETS_PER_ADDRESS = 5_000;
/** Source addresses start here (127.0.0.1 stays for everything else). */
const FIRST_ADDRESS = 10;

const GENERATOR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'generator.ts');

export interface ConnectResult {
  opened: number;
  failed: number;
  errors: Record<string, number>;
  /** Sockets that got their first message, per second, from the first handshake to the last. */
  perSecond: number;
  /** Handshake start → first message, per socket. */
  firstMessageMs: number[];
}

class Generator {
  private readonly replies: GeneratorReply[] = [];
  private waiting: ((reply: GeneratorReply) => void) | undefined;

  constructor(readonly child: ChildProcess) {
    child.on('message', (reply: GeneratorReply) => {
      const waiting = this.waiting;
      this.waiting = undefined;
      if (waiting) waiting(reply);
      else this.replies.push(reply);
    });
  }

  request(request: GeneratorRequest): void {
    this.child.send(request);
  }

  next<T extends GeneratorReply['type']>(type: T): Promise<Extract<GeneratorReply, { type: T }>> {
    return new Promise((resolve, reject) => {
      const accept = (reply: GeneratorReply) => {
        if (reply.type !== type) reject(new Error(`generator sent ${reply.type}, not ${type}`));
        else resolve(reply as Extract<GeneratorReply, { type: T }>);
      };
      const queued = this.replies.shift();
      if (queued) return accept(queued);
      this.waiting = accept;
      this.child.once('exit', (code) => reject(new Error(`generator exited with ${code}`)));
    });
  }
}

export class LoadGenerators {
  private opened = 0;
  private readonly firstPort: number;

  private constructor(private readonly generators: Generator[]) {
    // Below the ephemeral range (32768+), and not the same ports as the last run (TIME_WAIT).
    this.firstPort = 10_000 + Math.floor(Math.random() * 4) * SOCKETS_PER_ADDRESS;
  }

  /** Enough generator processes for `sockets`. */
  static async start(sockets: number): Promise<LoadGenerators> {
    const count = Math.max(1, Math.ceil(sockets / MAX_SOCKETS_PER_GENERATOR));
    const generators = Array.from({ length: count }, () => {
      const child = fork(GENERATOR, [], {
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      return new Generator(child);
    });
    await Promise.all(generators.map((generator) => generator.next('ready')));
    return new LoadGenerators(generators);
  }

  get pids(): number[] {
    return this.generators.map((generator) => generator.child.pid ?? 0);
  }

  /**
   * Opens one socket per URL, `window` in flight in all. Sockets are numbered across calls
   * (the first URL of a second call is socket `opened`); socket i goes to generator i mod count,
   * so every generator works through the list in the same order. `capacity`: the sockets all
   * calls will open, which fixes how they spread over source addresses.
   */
  async connect(urls: string[], window: number, capacity: number): Promise<ConnectResult> {
    const count = this.generators.length;
    const offset = this.opened;
    this.opened += urls.length;
    const addressesEach = Math.ceil(Math.ceil(capacity / count) / SOCKETS_PER_ADDRESS);
    const firstPort = this.firstPort;
    const replies = await Promise.all(
      this.generators.map((generator, g) => {
        const localAddresses = Array.from(
          { length: addressesEach },
          (_, a) => `127.0.0.${FIRST_ADDRESS + g * addressesEach + a}`,
        );
        const mine = urls.filter((_, index) => (offset + index) % count === g);
        generator.request({
          type: 'connect',
          urls: mine,
          firstIndex: Math.max(0, Math.ceil((offset - g) / count)),
          localAddresses,
          perAddress: SOCKETS_PER_ADDRESS,
          firstPort,
          window: Math.max(1, Math.round(window / count)),
        });
        return generator.next('connected');
      }),
    );
    const firstMessageMs = replies.flatMap((reply) => reply.firstMessageMs);
    const opened = firstMessageMs.filter((ms) => !Number.isNaN(ms)).length;
    const errors: Record<string, number> = {};
    for (const reply of replies) {
      for (const [error, n] of Object.entries(reply.errors))
        errors[error] = (errors[error] ?? 0) + n;
    }
    const startedAt = Math.min(...replies.map((reply) => reply.startedAt));
    const finishedAt = Math.max(...replies.map((reply) => reply.finishedAt));
    return {
      opened,
      failed: urls.length - opened,
      errors,
      perSecond: opened / ((finishedAt - startedAt) / 1000),
      firstMessageMs: firstMessageMs.filter((ms) => !Number.isNaN(ms)),
    };
  }

  /**
   * Every message after the first (socket indices as in `connect`), once each socket listed in
   * `expected` has received one more message, or at the deadline.
   */
  async collect(expected: readonly number[], timeoutMs: number): Promise<Received[]> {
    const count = this.generators.length;
    const replies = await Promise.all(
      this.generators.map((generator, g) => {
        const mine = expected.filter((index) => index % count === g).length;
        generator.request({ type: 'collect', expected: mine, timeoutMs });
        return generator.next('received');
      }),
    );
    return replies.flatMap((reply, g) =>
      reply.received.map((item) => ({ ...item, socket: item.socket * count + g })),
    );
  }

  async close(): Promise<void> {
    await Promise.all(
      this.generators.map(
        (generator) =>
          new Promise<void>((resolve) => {
            if (generator.child.exitCode !== null) return resolve();
            generator.child.once('exit', () => resolve());
            generator.request({ type: 'close' });
          }),
      ),
    );
  }
}
