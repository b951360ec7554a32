import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { watchTransaction, type FinalEvent, type WatchOptions } from '../sdk/index.js';
import { CliError, ExitCode, onePositional, wholeNumber } from './exit.js';
import { endpointFrom, endpointOptions } from './http.js';

const STATUS_EXIT: Record<string, number> = {
  settled: ExitCode.Ok,
  expired: ExitCode.Expired,
  cancelled: ExitCode.Cancelled,
};

/**
 * `watch <txId>`: every status and settlement message as one JSON line on stdout until the
 * transaction is final; the exit code says how it ended. Diagnostics go to stderr.
 */
export async function watch(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { ...endpointOptions, since: { type: 'string' }, timeout: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  const txId = onePositional(positionals, 'watch <txId>');
  const since = values.since === undefined ? undefined : wholeNumber(values.since, '--since');
  const timeoutSeconds =
    values.timeout === undefined ? undefined : wholeNumber(values.timeout, '--timeout', 1);
  const { baseUrl, apiKey } = endpointFrom(values, process.env);
  const base: WatchOptions = {
    baseUrl,
    WebSocket,
    ...(apiKey === undefined ? {} : { apiKey }),
    onError: ({ error }) => console.error(`identipay-status: retrying: ${error.message}`),
  };

  const controller = new AbortController();
  let stoppedBy: 'interrupt' | 'timeout' | undefined;
  const stop = (why: 'interrupt' | 'timeout') => {
    stoppedBy ??= why;
    controller.abort();
  };
  const onSigint = () => stop('interrupt');
  process.once('SIGINT', onSigint);
  // The reader went away (`watch … | head -1`): stop like Ctrl-C instead of crashing on EPIPE.
  process.stdout.once('error', onSigint);
  const timer =
    timeoutSeconds === undefined
      ? undefined
      : setTimeout(() => stop('timeout'), timeoutSeconds * 1000);
  try {
    const print = ({ message }: { message: object }) =>
      process.stdout.write(`${JSON.stringify(message)}\n`);
    const final = await watchTransaction(txId, {
      ...base,
      ...(since === undefined ? {} : { since }),
      signal: controller.signal,
      onStatus: print,
      onSettlement: print,
    }).done;
    if (final.reason === 'terminal' && final.status === null) {
      // `--since` was already the final version: nothing to print; read the status for the code.
      const current = await watchTransaction(txId, { ...base, signal: controller.signal }).done;
      if (current.reason === 'terminal') {
        console.error(
          `identipay-status: nothing after version ${since}: already ${current.status}`,
        );
      }
      return exitCode(current, stoppedBy, timeoutSeconds);
    }
    return exitCode(final, stoppedBy, timeoutSeconds);
  } finally {
    clearTimeout(timer);
    process.removeListener('SIGINT', onSigint);
    process.stdout.removeListener('error', onSigint);
  }
}

function exitCode(
  final: FinalEvent,
  stoppedBy: 'interrupt' | 'timeout' | undefined,
  timeoutSeconds?: number,
): number {
  if (final.reason === 'not_found' || final.reason === 'bad_request') {
    console.error(`identipay-status: ${final.error?.message ?? final.reason}`);
    return final.reason === 'not_found' ? ExitCode.NotFound : ExitCode.Rejected;
  }
  if (final.reason === 'aborted') {
    if (stoppedBy !== 'timeout') return ExitCode.Interrupted;
    const last = final.status === null ? 'nothing received' : `last status: ${final.status}`;
    console.error(`identipay-status: no final status after ${timeoutSeconds} s (${last})`);
    return ExitCode.TimedOut;
  }
  const code = final.status === null ? undefined : STATUS_EXIT[final.status];
  if (code === undefined)
    throw new CliError(`unexpected final status ${final.status}`, ExitCode.Failure);
  return code;
}
