import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { normaliseSuiAddress } from '../sui/address.js';
import { currenciesFor, type Currency, type SuiNetwork } from './currencies.js';

export type { Currency, SuiNetwork } from './currencies.js';

/** The project folder (two levels above this file in both src/ and dist/). */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Package id used by the sandbox chain: a fixed, recognisable fake. */
export const SANDBOX_PACKAGE_ID = `0x${'5a'.repeat(32)}`;

const optionalString = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .optional();

const integer = (min: number, max: number, fallback: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

const envSchema = z.object({
  PORT: integer(0, 65535, 8000),
  HOST: optionalString,
  DATA_DIR: optionalString,
  DATABASE_URL: optionalString.pipe(
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
      .optional(),
  ),
  ADMIN_TOKEN: optionalString.pipe(z.string().min(16, 'must be at least 16 characters').optional()),
  SUI_NETWORK: z.enum(['sandbox', 'mainnet', 'testnet', 'devnet']).default('sandbox'),
  PACKAGE_ID: optionalString.pipe(
    z
      .string()
      .regex(/^0x[0-9a-fA-F]{1,64}$/, 'must be 0x followed by up to 64 hex digits')
      .optional(),
  ),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  EXPIRY_SWEEP_MS: integer(50, 60_000, 500),
  BODY_LIMIT_BYTES: integer(1024, 10 * 1024 * 1024, 64 * 1024),
  SHUTDOWN_TIMEOUT_MS: integer(0, 600_000, 10_000),
});

export interface Config {
  port: number;
  host: string;
  sandbox: boolean;
  network: SuiNetwork;
  /** Folder for the embedded database when no DATABASE_URL is given. */
  dataDir: string;
  databaseUrl: string | undefined;
  adminToken: string | undefined;
  packageId: string;
  currencies: ReadonlyMap<string, Currency>;
  logLevel: string;
  expirySweepMs: number;
  bodyLimitBytes: number;
  shutdownTimeoutMs: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Validates the environment once at start; a bad value stops start-up with a clear message. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || 'environment'}: ${issue.message}`,
    );
    throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  const e = parsed.data;
  const sandbox = e.SUI_NETWORK === 'sandbox';
  if (!sandbox && !e.PACKAGE_ID) {
    throw new ConfigError(
      `Invalid configuration:\n  PACKAGE_ID: required when SUI_NETWORK=${e.SUI_NETWORK}`,
    );
  }
  return {
    port: e.PORT,
    // A sandbox exposes a pay route and a printed admin token: keep it on this machine by default.
    host: e.HOST ?? (sandbox ? '127.0.0.1' : '0.0.0.0'),
    sandbox,
    network: e.SUI_NETWORK,
    dataDir: path.resolve(e.DATA_DIR ?? path.join(PROJECT_ROOT, 'data')),
    databaseUrl: e.DATABASE_URL,
    adminToken: e.ADMIN_TOKEN,
    packageId: normaliseSuiAddress(e.PACKAGE_ID ?? SANDBOX_PACKAGE_ID),
    currencies: currenciesFor(e.SUI_NETWORK),
    logLevel: e.LOG_LEVEL,
    expirySweepMs: e.EXPIRY_SWEEP_MS,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
  };
}
