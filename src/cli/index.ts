#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/index.js';
import { AppError } from '../errors.js';
import { registerMerchant, registerMerchantBodySchema } from '../merchants/index.js';
import { databaseLocation } from '../node.js';
import { openStore } from '../store/index.js';

const USAGE = `Usage: identipay-status <command> [options]

Commands:
  serve                      Start the service (same as npm start; configured by the environment)
  merchant create            Register a merchant and print its API key (shown once)
      --name <name> --sui-address <0x…> --hostname <host> --public-key <64 hex>

The store is the one the service uses: DATABASE_URL, or the embedded database in DATA_DIR.
The embedded database serves one process at a time: stop the service before using it here.`;

async function merchantCreate(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      name: { type: 'string' },
      'sui-address': { type: 'string' },
      hostname: { type: 'string' },
      'public-key': { type: 'string' },
    },
    strict: true,
  });
  const body = registerMerchantBodySchema.safeParse({
    name: values.name,
    suiAddress: values['sui-address'],
    hostname: values.hostname,
    publicKey: values['public-key'],
  });
  if (!body.success) {
    for (const issue of body.error.issues)
      console.error(`${issue.path.join('.')}: ${issue.message}`);
    return 2;
  }
  const store = await openStore(databaseLocation(loadConfig(process.env)));
  try {
    const merchant = await registerMerchant(store, body.data, new Date());
    console.log(JSON.stringify(merchant, null, 2));
    return 0;
  } finally {
    await store.close();
  }
}

async function run(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'serve') {
    await import('../main.js');
    return -1; // the server keeps the process alive
  }
  if (command === 'merchant' && rest[0] === 'create') return merchantCreate(rest.slice(1));
  console.log(USAGE);
  return command === undefined || command === 'help' || command === '--help' ? 0 : 2;
}

run(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (error: unknown) => {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      console.error(`${(error as Error).message}\n\n${USAGE}`);
      process.exitCode = 2;
      return;
    }
    if (error instanceof ConfigError || error instanceof AppError) console.error(error.message);
    else console.error(error);
    process.exitCode = 1;
  },
);
