import type { RpcOutputStream } from '@protobuf-ts/runtime-rpc';

export class StreamIdleError extends Error {
  override name = 'StreamIdleError';
}

/**
 * Buffers a server stream's frames from the moment the call opens (the subscription must be
 * buffered while the backfill runs) and hands them out one by one with an idle timeout: a public
 * endpoint that silently stops sending is treated like a reset.
 */
export class FrameQueue<T extends object> {
  private readonly frames: T[] = [];
  private failure: Error | undefined;
  private completed = false;
  private wake: (() => void) | undefined;

  constructor(stream: RpcOutputStream<T>) {
    stream.onNext((message, error, complete) => {
      if (message) this.frames.push(message);
      if (error) this.failure = error;
      if (complete) this.completed = true;
      this.wake?.();
    });
  }

  /** A frame that has already arrived, without waiting. */
  take(): T | undefined {
    return this.frames.shift();
  }

  /** The next frame; undefined when the stream completed; throws its error or StreamIdleError. */
  async next(idleTimeoutMs: number): Promise<T | undefined> {
    for (;;) {
      const frame = this.frames.shift();
      if (frame) return frame;
      if (this.failure) throw this.failure;
      if (this.completed) return undefined;
      const arrived = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), idleTimeoutMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve(true);
        };
      });
      this.wake = undefined;
      if (!arrived) throw new StreamIdleError(`No frame for ${idleTimeoutMs} ms`);
    }
  }
}
