import type { FinalEvent, WatchEvent, WatchOptions } from './types.js';

/**
 * Delivers each event to the callbacks at once and queues it for the async iterator, so that an
 * iterator taken late still sees everything from the start. The iterator throws the final
 * event's error (not found, bad request) after yielding it.
 */
export class Channel {
  private readonly queue: WatchEvent[] = [];
  private wake: (() => void) | undefined;
  private ended = false;

  constructor(private readonly options: WatchOptions) {}

  emit(event: WatchEvent): void {
    if (this.ended) return;
    if (event.type === 'final') this.ended = true;
    this.queue.push(event);
    this.wake?.();
    try {
      this.callBack(event);
    } catch (error) {
      // Like an event listener's: reported, but it must not break the watch loop.
      setTimeout(() => {
        throw error;
      });
    }
  }

  private callBack(event: WatchEvent): void {
    this.options.onEvent?.(event);
    if (event.type === 'status') this.options.onStatus?.(event);
    else if (event.type === 'settlement') this.options.onSettlement?.(event);
    else if (event.type === 'error') this.options.onError?.(event);
    else this.options.onFinal?.(event);
  }

  async *events(): AsyncGenerator<WatchEvent, void, undefined> {
    for (;;) {
      const event = this.queue.shift();
      if (!event) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      yield event;
      if (event.type === 'final') return throwIfFailed(event);
    }
  }
}

function throwIfFailed(event: FinalEvent): void {
  if (event.error) throw event.error;
}
