/** Exit codes of every command. `--help` and the README's CLI section list them. */
export const ExitCode = {
  Ok: 0,
  /** Anything else: the service unreachable, a 5xx or 429, an unexpected answer. */
  Failure: 1,
  Usage: 2,
  Expired: 3,
  Cancelled: 4,
  /** 404: no such transaction (or, for `pay`, a service not in sandbox mode). */
  NotFound: 5,
  /** 400/401/403/413/415: the request, the transaction id, `since` or the API key was refused. */
  Rejected: 6,
  /** 409: already paid (`pay`) or already final (`proposal cancel`). */
  Conflict: 7,
  /** `watch --timeout` passed before a final status. */
  TimedOut: 8,
  /** 128 + SIGINT, as shells report it. */
  Interrupted: 130,
} as const;

/** A failure that ends the command: its message goes to stderr as is, then the process exits. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export function usageError(message: string): CliError {
  return new CliError(`${message}\nRun identipay-status --help for the usage.`, ExitCode.Usage);
}

/** The single positional argument of a command, e.g. the transaction id of `watch <txId>`. */
export function onePositional(positionals: string[], usage: string): string {
  const [first, ...rest] = positionals;
  if (first === undefined || rest.length > 0) throw usageError(`usage: identipay-status ${usage}`);
  return first;
}

/** A whole number ≥ `min` given as an option value. */
export function wholeNumber(value: string, option: string, min = 0): number {
  if (!/^[0-9]{1,9}$/.test(value) || Number(value) < min) {
    throw usageError(`${option}: expected a whole number ≥ ${min}, got "${value}"`);
  }
  return Number(value);
}
