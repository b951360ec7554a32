import { CloseCode, isTerminalStatus, type ServerMessage } from '../wire/index.js';
import { BadRequestError, NotFoundError } from './errors.js';
import type { WebSocketConstructor, WebSocketLike } from './types.js';

/** How one WebSocket connection ended. */
export type SocketOutcome =
  | { kind: 'terminal' }
  | { kind: 'fatal'; error: Error }
  | { kind: 'retry'; opened: boolean; error: Error };

/**
 * Runs one connection to its end, handing every status/settlement message to `onMessage`.
 * Resolves (never rejects) with what the watch loop should do next.
 */
export function runSocket(
  Ctor: WebSocketConstructor,
  url: string,
  signal: AbortSignal,
  onMessage: (message: Exclude<ServerMessage, { type: 'error' }>) => boolean,
): Promise<SocketOutcome> {
  return new Promise((resolve) => {
    let opened = false;
    let terminal = false;
    let received = false;
    let lastError = '';
    let socket: WebSocketLike;
    try {
      socket = new Ctor(url);
    } catch (error) {
      resolve({ kind: 'retry', opened, error: asError(error) });
      return;
    }
    const onAbort = () => socket.close(1000, 'aborted');
    signal.addEventListener('abort', onAbort, { once: true });
    socket.addEventListener('open', () => (opened = true));
    // The close event that follows says everything; a listener keeps `ws` from throwing.
    socket.addEventListener('error', () => undefined);
    socket.addEventListener('message', (event) => {
      const message = parse((event as { data: unknown }).data);
      if (!message) return;
      if (message.type === 'error') {
        lastError = message.message;
        return;
      }
      received = true;
      if (onMessage(message) && isTerminalStatus(message.status)) {
        // Done: no need to wait for the server's close frame (it follows with 1000).
        terminal = true;
        signal.removeEventListener('abort', onAbort);
        resolve({ kind: 'terminal' });
        socket.close(1000, 'done');
      }
    });
    socket.addEventListener('close', (event) => {
      const { code, reason } = event as { code: number; reason: string };
      signal.removeEventListener('abort', onAbort);
      resolve(classify(code, reason, { opened, terminal, received, lastError }));
    });
  });
}

function classify(
  code: number,
  reason: string,
  state: { opened: boolean; terminal: boolean; received: boolean; lastError: string },
): SocketOutcome {
  if (state.terminal) return { kind: 'terminal' };
  // 1000 with no message: a resume whose `since` is already the final version of a terminal
  // transaction (docs/PROTOCOL.md); there is nothing more to wait for.
  if (code === CloseCode.Normal && state.opened && !state.received) return { kind: 'terminal' };
  const text = state.lastError || reason || `closed with ${code}`;
  if (code === CloseCode.NotFound) return { kind: 'fatal', error: new NotFoundError(text) };
  if (code === CloseCode.BadRequest) return { kind: 'fatal', error: new BadRequestError(text) };
  const error = new Error(`WebSocket ${state.opened ? 'closed' : 'failed'}: ${text}`);
  return { kind: 'retry', opened: state.opened, error };
}

function parse(data: unknown): ServerMessage | undefined {
  try {
    const text = typeof data === 'string' ? data : String(data);
    return JSON.parse(text) as ServerMessage;
  } catch {
    return undefined;
  }
}

export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
