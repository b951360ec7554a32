import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/index.js';
import { AppError } from '../errors.js';
import { registerMerchant, registerMerchantBodySchema } from '../merchants/index.js';
import { databaseLocation } from '../node.js';
import { openStore } from '../store/index.js';
import { CliError, ExitCode } from './exit.js';

/** `merchant create`: writes to the service's store directly (no running service needed). */
export async function merchantCreate(args: string[]): Promise<number> {
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
    return ExitCode.Usage;
  }
  try {
    const store = await openStore(databaseLocation(loadConfig(process.env)));
    try {
      const merchant = await registerMerchant(store, body.data, new Date());
      console.log(JSON.stringify(merchant, null, 2));
      return ExitCode.Ok;
    } finally {
      await store.close();
    }
  } catch (error) {
    // A bad environment or a duplicate hostname: its message says it all.
    if (error instanceof ConfigError || error instanceof AppError) {
      throw new CliError(error.message, ExitCode.Failure);
    }
    throw error;
  }
}
