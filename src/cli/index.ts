#!/usr/bin/env node
import { CliError, ExitCode } from './exit.js';

const USAGE = `Usage: identipay-status <command> [options]

Service and store:
  serve                       Start the service (same as npm start; configured by the environment)
  merchant create             Register a merchant in the store and print its API key (shown once)
      --name <name> --sui-address <0x…> --hostname <host> --public-key <64 hex>

Against a running service (--url, default $IDENTIPAY_STATUS_URL or http://localhost:8000):
  proposal create             Create a proposal; prints {transactionId, uri, expiresAt, …}
      --item <name:quantity:unitPrice>   repeatable, e.g. --item Espresso:2:2.50
      --amount <decimal>      the total (default: the sum of the items; alone: one item)
      --currency <code>       USDC (default) or SUI
      --expires-in <seconds>  default 900, at most 86400
      --no-receipt  --warranty-days <n> [--warranty-transferable]  --age-gate <years>
      --region <code>         repeatable (EU, US, …)
      --qr-code <file.png>    write the QR code there (it is not printed)
      -q, --quiet             print the transaction id only
  proposal cancel <txId>      Cancel a pending proposal; prints {transactionId, status, version}
  watch <txId>                Print each status/settlement message as one JSON line until the
                              transaction is settled, expired or cancelled; Ctrl-C stops
      --since <version>       only transitions after this version (resume)
      --timeout <seconds>     give up after this long (exit 8)
      --api-key               also enables polling the REST status route when WebSockets fail
  pay <txId>                  Sandbox only: the sandbox wallet pays; prints {txDigest}
      --amount <decimal> --merchant <0x…> --coin-type <type>   pay wrongly, to see anomalies

  --api-key <key>             the merchant's API key (default $IDENTIPAY_API_KEY); proposal
                              commands need it

Exit codes:
  0  done (watch: settled, late payments included)
  1  other failure: service unreachable, 5xx, 429, unexpected answer
  2  usage error
  3  watch: expired           4  watch: cancelled
  5  not found: unknown transaction (pay: the service is not in sandbox mode)
  6  rejected: invalid request, transaction id or since, or API key refused (400/401/403)
  7  conflict: already paid (pay), already final (proposal cancel)
  8  watch: --timeout passed   130  interrupted (SIGINT, or stdout closed)

Server errors are printed on stderr as the server's JSON error body.
merchant create opens the service's store (DATABASE_URL, or the embedded database in
DATA_DIR, which serves one process at a time: stop the service first).`;

type Command = (args: string[]) => Promise<number>;

/** Loaded on demand: client commands do not load the server's modules. */
const COMMANDS: Record<string, () => Promise<Command>> = {
  'merchant create': async () => (await import('./merchant.js')).merchantCreate,
  'proposal create': async () => (await import('./proposals.js')).proposalCreate,
  'proposal cancel': async () => (await import('./proposals.js')).proposalCancel,
  watch: async () => (await import('./watch.js')).watch,
  pay: async () => (await import('./sandbox.js')).pay,
};

async function run(argv: string[]): Promise<number> {
  const [first, second, ...rest] = argv;
  if (first === undefined || first === 'help' || argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return ExitCode.Ok;
  }
  if (first === 'serve') {
    await import('../main.js');
    return -1; // the server keeps the process alive
  }
  const pair = COMMANDS[`${first} ${second}`];
  if (pair) return (await pair())(rest);
  const single = COMMANDS[first];
  if (single) return (await single())(argv.slice(1));
  console.error(
    `unknown command: ${argv.slice(0, 2).join(' ')}\nRun identipay-status --help for the usage.`,
  );
  return ExitCode.Usage;
}

run(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (error: unknown) => {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      console.error(`${(error as Error).message}\nRun identipay-status --help for the usage.`);
      process.exitCode = ExitCode.Usage;
    } else if (error instanceof CliError) {
      console.error(error.message);
      process.exitCode = error.exitCode;
    } else {
      console.error(error);
      process.exitCode = ExitCode.Failure;
    }
  },
);
