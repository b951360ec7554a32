/** IPC between the bench and its load-generator processes. Times are epoch milliseconds. */

/** A message a socket received after its first one (the fan-out). */
export interface Received {
  socket: number;
  at: number;
  type: string;
  transactionId: string;
  checkpointTimestamp: string | null;
  /** The service's own stamp of when it pushed (ms resolution); null from the reference. */
  pushedAt: string | null;
}

export type GeneratorRequest =
  | {
      type: 'connect';
      urls: string[];
      /** This generator's index of the first of them (indices go on across connects). */
      firstIndex: number;
      /** Source addresses, `perAddress` consecutive sockets on each. */
      localAddresses: string[];
      perAddress: number;
      /** Socket k on an address binds port firstPort + k (then any port if that one is taken). */
      firstPort: number;
      /** Connects in flight at once (handshake sent, first message not yet received). */
      window: number;
    }
  | { type: 'collect'; expected: number; timeoutMs: number }
  | { type: 'close' };

export type GeneratorReply =
  | { type: 'ready' }
  | {
      type: 'connected';
      startedAt: number;
      finishedAt: number;
      /** Per socket: handshake start → first message (NaN when it failed). */
      firstMessageMs: number[];
      /** Failures by error code or close. */
      errors: Record<string, number>;
    }
  | { type: 'received'; received: Received[] };
