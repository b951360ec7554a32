import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';

/** Certificate and key (PEM) for serving https and wss directly. */
export interface TlsSettings {
  certFile: string;
  keyFile: string;
  cert: Buffer;
  key: Buffer;
}

type TlsResult = { ok: true; tls: TlsSettings | undefined } | { ok: false; problem: string };

/**
 * Both files or neither. Read and tried at start, so that a wrong path or a certificate that does
 * not match its key stops start-up naming the variable, not at the first client's handshake.
 */
export function readTlsFiles(certFile: string | undefined, keyFile: string | undefined): TlsResult {
  if (!certFile && !keyFile) return { ok: true, tls: undefined };
  if (!certFile) return { ok: false, problem: 'TLS_CERT_FILE: required with TLS_KEY_FILE' };
  if (!keyFile) return { ok: false, problem: 'TLS_KEY_FILE: required with TLS_CERT_FILE' };
  const read = (variable: string, file: string): Buffer | string => {
    try {
      return readFileSync(file);
    } catch (error) {
      return `${variable}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`;
    }
  };
  const cert = read('TLS_CERT_FILE', certFile);
  if (typeof cert === 'string') return { ok: false, problem: cert };
  const key = read('TLS_KEY_FILE', keyFile);
  if (typeof key === 'string') return { ok: false, problem: key };
  try {
    createSecureContext({ cert, key });
  } catch (error) {
    return {
      ok: false,
      problem: `TLS_CERT_FILE, TLS_KEY_FILE: not a PEM certificate and its private key (${(error as Error).message})`,
    };
  }
  return { ok: true, tls: { certFile, keyFile, cert, key } };
}
