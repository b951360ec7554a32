import { fromBase58, toHex } from '@mysten/sui/utils';
import { ChainProtocolError } from './errors.js';

/*
 * Sui names a chain after the digest of its genesis checkpoint (checkpoint 0), in two spellings:
 *
 * - the whole 32-byte digest in Base58: gRPC `GetServiceInfo.chain_id`
 *   (mainnet: 4btiuiMPvEENsttpZC7CZ53DruC3MAgfznDbASZ7DR6S);
 * - its first four bytes in lowercase hex: GraphQL `Query.chainIdentifier`, JSON-RPC
 *   `sui_getChainIdentifier`, Move.toml environments (mainnet: 35834a8a).
 *
 * Every source answers with the short form, the only one GraphQL offers, so that one chain has one
 * identifier whichever protocol reads it (a cursor saved under it survives a change of source).
 */

const SHORT_FORM = /^[0-9a-fA-F]{8}$/;
const DIGEST_BYTES = 32;

/** The short form of a genesis checkpoint digest. */
export function chainIdentifierOfGenesis(digest: Uint8Array): string {
  if (digest.length !== DIGEST_BYTES) throw new Error('A checkpoint digest has 32 bytes');
  return toHex(digest.subarray(0, 4));
}

/**
 * The short form of what an endpoint reported: the short form itself (lowercased) or a Base58
 * genesis digest. Anything else breaks Sui's protocol.
 */
export function normaliseChainIdentifier(reported: string): string {
  if (SHORT_FORM.test(reported)) return reported.toLowerCase();
  let digest: Uint8Array | undefined;
  try {
    digest = fromBase58(reported);
  } catch {
    digest = undefined;
  }
  if (digest?.length !== DIGEST_BYTES) {
    throw new ChainProtocolError(
      `Not a Sui chain identifier: ${JSON.stringify(reported.slice(0, 80))}`,
    );
  }
  return chainIdentifierOfGenesis(digest);
}
