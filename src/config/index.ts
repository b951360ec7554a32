import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { normaliseSuiAddress } from '../sui/address.js';
import { currenciesFor, type Currency, type SuiNetwork } from './currencies.js';
import { readTlsFiles, type TlsSettings } from './tls.js';

export type { Currency, SuiNetwork } from './currencies.js';
export type { TlsSettings } from './tls.js';

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

/** A comma-separated list; blanks dropped. Unset or empty: an empty list. */
const commaList = z
  .string()
  .optional()
  .transform((value) =>
    (value ?? '')
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== ''),
  );

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional();

/** Sui Foundation's public endpoints: gRPC (sui.rpc.v2 over gRPC-web) on the full nodes, GraphQL
 * on the indexer service. Both rate-limit; production should name its own provider. */
const PUBLIC_ENDPOINTS: Record<Exclude<SuiNetwork, 'sandbox'>, { rpc: string; graphql: string }> = {
  mainnet: {
    rpc: 'https://fullnode.mainnet.sui.io:443',
    graphql: 'https://graphql.mainnet.sui.io/graphql',
  },
  testnet: {
    rpc: 'https://fullnode.testnet.sui.io:443',
    graphql: 'https://graphql.testnet.sui.io/graphql',
  },
  devnet: {
    rpc: 'https://fullnode.devnet.sui.io:443',
    graphql: 'https://graphql.devnet.sui.io/graphql',
  },
};

export type ChainSourceKind = 'grpc' | 'graphql';

/** `scheme://host[:port]`, as browsers send it in `Origin`; normalised to lower case. */
const origin = z.string().transform((value, context) => {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || url.origin === 'null' || value.replace(/\/$/, '').toLowerCase() !== url.origin) {
    context.addIssue({
      code: 'custom',
      message: `${value}: expected an origin like https://shop.example.com`,
    });
    return z.NEVER;
  }
  return url.origin;
});

/** An IP address or a CIDR block (`10.0.0.0/8`, `fd00::/8`). */
const ipOrCidr = z.string().superRefine((value, context) => {
  const [address = '', prefix, extra] = value.split('/');
  const family = isIP(address);
  const validPrefix =
    prefix === undefined ||
    (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
  if (family === 0 || extra !== undefined || !validPrefix) {
    context.addIssue({
      code: 'custom',
      message: `${value}: expected an IP address or a CIDR block such as 10.0.0.0/8`,
    });
  }
});

/** Far above any core count this service is run on; a typo like 1000 fails instead of forking. */
export const MAX_WORKERS = 64;

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
  EXPIRY_SWEEP_MS: integer(50, 60_000, 5_000),
  REDIS_URL: optionalString.pipe(
    z
      .string()
      .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
      .optional(),
  ),
  BUS: z.enum(['auto', 'local', 'postgres', 'redis']).default('auto'),
  BUS_CHANNEL: optionalString.pipe(
    z
      .string()
      .regex(/^[A-Za-z0-9_]{1,63}$/, 'letters, digits and _ (at most 63)')
      .optional(),
  ),
  SUI_RPC_URL: optionalString.pipe(httpUrl),
  SUI_GRAPHQL_URL: optionalString.pipe(httpUrl),
  SUI_CHAIN_SOURCE: optionalString.pipe(z.enum(['grpc', 'graphql']).optional()),
  SANDBOX_CHAIN_URL: optionalString.pipe(httpUrl),
  CHAIN_POLL_MS: integer(50, 60_000, 250),
  RESYNC_INTERVAL_MS: integer(0, 3_600_000, 30_000),
  PRELOAD_MAX: integer(0, 10_000_000, 100_000),
  BODY_LIMIT_BYTES: integer(1024, 10 * 1024 * 1024, 64 * 1024),
  SHUTDOWN_TIMEOUT_MS: integer(0, 600_000, 10_000),
  // Connection protection (issue 5). Rates: 0 switches that limit off.
  HEARTBEAT_MS: integer(10, 600_000, 30_000),
  WS_MAX_SOCKETS: integer(1, 10_000_000, 100_000),
  WS_MAX_SOCKETS_PER_IP: integer(1, 10_000_000, 256),
  WS_MAX_SOCKETS_PER_TRANSACTION: integer(1, 100_000, 32),
  WS_UPGRADES_PER_MINUTE_PER_IP: integer(0, 10_000_000, 600),
  WS_MAX_CLIENT_FRAMES_PER_WINDOW: integer(1, 100_000, 10),
  WS_CLIENT_FRAME_WINDOW_MS: integer(100, 3_600_000, 10_000),
  WS_MAX_BUFFERED_BYTES: integer(1024, 1024 * 1024 * 1024, 1024 * 1024),
  WS_ALLOWED_ORIGINS: commaList.pipe(z.array(origin)),
  TRUSTED_PROXIES: commaList.pipe(z.array(ipOrCidr)),
  REST_REQUESTS_PER_MINUTE_PER_KEY: integer(0, 10_000_000, 6_000),
  REST_REQUESTS_PER_MINUTE_PER_IP: integer(0, 10_000_000, 12_000),
  // Deployment edges (issue 5, item 8): CORS and TLS served directly.
  CORS_ALLOWED_ORIGINS: commaList.pipe(z.array(z.union([z.literal('*'), origin]))),
  TLS_CERT_FILE: optionalString,
  TLS_KEY_FILE: optionalString,
  // Slow-loris protection (issue 5, item 8) and readiness (item 6).
  HTTP_HEADERS_TIMEOUT_MS: integer(100, 600_000, 10_000),
  HTTP_REQUEST_TIMEOUT_MS: integer(0, 3_600_000, 30_000),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: integer(100, 3_600_000, 72_000),
  READY_MAX_INDEXER_LAG_MS: integer(100, 86_400_000, 30_000),
  // Multi-worker mode (issue 7, item 2): `auto` is one worker per core.
  WORKERS: optionalString.pipe(
    z
      .union([z.literal('auto'), z.string().regex(/^\d+$/, 'must be a whole number or auto')])
      .transform((value) => (value === 'auto' ? availableParallelism() : Number(value)))
      .pipe(
        z
          .number()
          .int()
          .min(1, 'must be at least 1')
          .max(MAX_WORKERS, `must be at most ${MAX_WORKERS}`),
      )
      .default(1),
  ),
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
  redisUrl: string | undefined;
  /** Safety net: how often each node re-reads what its sockets watch (0 = never). */
  resyncIntervalMs: number;
  /**
   * At start, each node reads up to this many open (pending) transactions ahead of the clients
   * that will come back to them, kept until the first resync (0 = none).
   */
  preloadMax: number;
  /** `auto`: Redis when REDIS_URL is set, else Postgres NOTIFY with a Postgres store, else local. */
  bus: 'auto' | 'local' | 'postgres' | 'redis';
  /** Nodes of one deployment share a channel; separate deployments on one engine must not. */
  busChannel: string | undefined;
  /** Where settlement events come from: `grpc` (subscription + backfill) or `graphql` (polling). */
  chainSource: ChainSourceKind;
  /** gRPC endpoint (SUI_RPC_URL); undefined in sandbox mode. */
  suiRpcUrl: string | undefined;
  /** GraphQL endpoint; in sandbox mode only set for a standalone sandbox chain (or explicitly). */
  suiGraphqlUrl: string | undefined;
  /** A standalone sandbox chain to index and pay on, instead of starting one in process. */
  sandboxChainUrl: string | undefined;
  chainPollMs: number;
  /** `<packageId>::settlement::SettlementEvent`, package id normalised. */
  settlementEventType: string;
  webSocket: WebSocketLimits;
  rest: RestLimits;
  /** Direct peers whose `X-Forwarded-For` is believed (IPs or CIDR blocks); empty: none. */
  trustedProxies: readonly string[];
  /** Origins (normalised, or `*`) allowed to call the REST routes from a browser; empty: no CORS. */
  corsAllowedOrigins: readonly string[];
  /** Serve https and wss on PORT with this certificate; undefined: plain http and ws. */
  tls: TlsSettings | undefined;
  httpTimeouts: HttpTimeouts;
  /** /ready fails when the indexer leader has applied no batch for longer than this. */
  readyMaxIndexerLagMs: number;
  /** Server processes sharing PORT (node:cluster); 1: this process serves alone. */
  workers: number;
}

/** Node's HTTP server timeouts: a client that dribbles its request is dropped (slow loris). */
export interface HttpTimeouts {
  /** Request line and headers (upgrade requests included) must arrive within this. */
  headersTimeoutMs: number;
  /** The whole request, body included (0: no limit). */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
}

/** Protection of the WebSocket endpoint (docs/PROTOCOL.md, "Limits"). */
export interface WebSocketLimits {
  /** Every socket is pinged this often; one that missed the previous pong is terminated. */
  heartbeatMs: number;
  /** Sockets open on this node; upgrades beyond it are refused with HTTP 503. */
  maxSockets: number;
  maxSocketsPerIp: number;
  maxSocketsPerTransaction: number;
  /** Token bucket per client IP (burst = the whole minute); 0: unlimited. */
  upgradesPerMinutePerIp: number;
  /** More client frames (data or ping) than this within the window: close 1008. */
  maxClientFramesPerWindow: number;
  clientFrameWindowMs: number;
  /** A send that finds more than this already queued for the socket closes it with 1013. */
  maxBufferedBytes: number;
  /** Allowed `Origin` values (normalised); empty: any. */
  allowedOrigins: readonly string[];
}

/** Token buckets per API key and per client IP (burst = the whole minute); 0: unlimited. */
export interface RestLimits {
  requestsPerMinutePerKey: number;
  requestsPerMinutePerIp: number;
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
  if (e.BUS === 'redis' && !e.REDIS_URL) {
    throw new ConfigError('Invalid configuration:\n  BUS: redis needs REDIS_URL');
  }
  if (e.BUS === 'postgres' && !e.DATABASE_URL) {
    throw new ConfigError('Invalid configuration:\n  BUS: postgres needs DATABASE_URL');
  }
  if (e.WORKERS > 1 && !e.DATABASE_URL) {
    throw new ConfigError(
      'Invalid configuration:\n  WORKERS: several workers need DATABASE_URL (PostgreSQL); the embedded database serves one process',
    );
  }
  if (e.WORKERS > 1 && e.BUS === 'local') {
    throw new ConfigError(
      'Invalid configuration:\n  WORKERS: several workers need a shared bus, not BUS=local',
    );
  }
  if (e.HTTP_REQUEST_TIMEOUT_MS > 0 && e.HTTP_HEADERS_TIMEOUT_MS > e.HTTP_REQUEST_TIMEOUT_MS) {
    throw new ConfigError(
      'Invalid configuration:\n  HTTP_HEADERS_TIMEOUT_MS: must not exceed HTTP_REQUEST_TIMEOUT_MS',
    );
  }
  const tls = readTlsFiles(e.TLS_CERT_FILE, e.TLS_KEY_FILE);
  if (!tls.ok) throw new ConfigError(`Invalid configuration:\n  ${tls.problem}`);
  const chain = chainSettings(e);
  const packageId = normaliseSuiAddress(e.PACKAGE_ID ?? SANDBOX_PACKAGE_ID);
  return {
    port: e.PORT,
    // A sandbox exposes a pay route and a printed admin token: keep it on this machine by default.
    host: e.HOST ?? (sandbox ? '127.0.0.1' : '0.0.0.0'),
    sandbox,
    network: e.SUI_NETWORK,
    dataDir: path.resolve(e.DATA_DIR ?? path.join(PROJECT_ROOT, 'data')),
    databaseUrl: e.DATABASE_URL,
    adminToken: e.ADMIN_TOKEN,
    packageId,
    currencies: currenciesFor(e.SUI_NETWORK),
    logLevel: e.LOG_LEVEL,
    expirySweepMs: e.EXPIRY_SWEEP_MS,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    redisUrl: e.REDIS_URL,
    resyncIntervalMs: e.RESYNC_INTERVAL_MS,
    preloadMax: e.PRELOAD_MAX,
    bus: e.BUS,
    busChannel: e.BUS_CHANNEL,
    ...chain,
    chainPollMs: e.CHAIN_POLL_MS,
    settlementEventType: `${packageId}::settlement::SettlementEvent`,
    webSocket: {
      heartbeatMs: e.HEARTBEAT_MS,
      maxSockets: e.WS_MAX_SOCKETS,
      maxSocketsPerIp: e.WS_MAX_SOCKETS_PER_IP,
      maxSocketsPerTransaction: e.WS_MAX_SOCKETS_PER_TRANSACTION,
      upgradesPerMinutePerIp: e.WS_UPGRADES_PER_MINUTE_PER_IP,
      maxClientFramesPerWindow: e.WS_MAX_CLIENT_FRAMES_PER_WINDOW,
      clientFrameWindowMs: e.WS_CLIENT_FRAME_WINDOW_MS,
      maxBufferedBytes: e.WS_MAX_BUFFERED_BYTES,
      allowedOrigins: e.WS_ALLOWED_ORIGINS,
    },
    rest: {
      requestsPerMinutePerKey: e.REST_REQUESTS_PER_MINUTE_PER_KEY,
      requestsPerMinutePerIp: e.REST_REQUESTS_PER_MINUTE_PER_IP,
    },
    trustedProxies: e.TRUSTED_PROXIES,
    corsAllowedOrigins: e.CORS_ALLOWED_ORIGINS,
    tls: tls.tls,
    httpTimeouts: {
      headersTimeoutMs: e.HTTP_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS,
      keepAliveTimeoutMs: e.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    },
    readyMaxIndexerLagMs: e.READY_MAX_INDEXER_LAG_MS,
    workers: e.WORKERS,
  };
}

function chainSettings(
  e: z.infer<typeof envSchema>,
): Pick<Config, 'chainSource' | 'suiRpcUrl' | 'suiGraphqlUrl' | 'sandboxChainUrl'> {
  const fail = (problem: string) => new ConfigError(`Invalid configuration:\n  ${problem}`);
  if (e.SUI_NETWORK === 'sandbox') {
    // The sandbox chain speaks Sui's GraphQL protocol only.
    if (e.SUI_CHAIN_SOURCE === 'grpc')
      throw fail('SUI_CHAIN_SOURCE: grpc is not available in sandbox mode');
    const standalone = e.SANDBOX_CHAIN_URL;
    return {
      chainSource: 'graphql',
      suiRpcUrl: undefined,
      suiGraphqlUrl:
        e.SUI_GRAPHQL_URL ?? (standalone ? new URL('/graphql', standalone).toString() : undefined),
      sandboxChainUrl: standalone,
    };
  }
  if (e.SANDBOX_CHAIN_URL) throw fail(`SANDBOX_CHAIN_URL: only allowed when SUI_NETWORK=sandbox`);
  const endpoints = PUBLIC_ENDPOINTS[e.SUI_NETWORK];
  return {
    chainSource: e.SUI_CHAIN_SOURCE ?? 'grpc',
    suiRpcUrl: e.SUI_RPC_URL ?? endpoints.rpc,
    suiGraphqlUrl: e.SUI_GRAPHQL_URL ?? endpoints.graphql,
    sandboxChainUrl: undefined,
  };
}
