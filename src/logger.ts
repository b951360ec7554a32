import pino, { type Logger } from 'pino';

/**
 * Structured JSON logs. Credentials are redacted by path in case a header object is ever
 * logged; code never logs keys, tokens or buyer addresses in the first place.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'identipay-status' },
      redact: {
        paths: ['req.headers.authorization', 'headers.authorization', 'apiKey', 'adminToken'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
