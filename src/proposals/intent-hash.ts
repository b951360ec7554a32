import { sha3_256 } from '@noble/hashes/sha3.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import jsonld from 'jsonld';

export const PROPOSAL_CONTEXT_URL = 'https://schema.identipay.net/v1';

/** The fixed context behind PROPOSAL_CONTEXT_URL: every term lives in one vocabulary. */
const PROPOSAL_CONTEXT = { '@context': { '@vocab': 'https://schema.identipay.net/v1#' } };

/** Never touches the network: the only context a proposal may use is embedded here. */
const documentLoader = async (url: string) => {
  if (url === PROPOSAL_CONTEXT_URL) {
    return { contextUrl: undefined, documentUrl: url, document: PROPOSAL_CONTEXT };
  }
  throw new Error(`Refusing to load remote JSON-LD context: ${url}`);
};

/** URDNA2015 canonical N-Quads of the proposal without its intentHash. */
export async function canonicalProposal(document: Record<string, unknown>): Promise<string> {
  const { intentHash: _ignored, ...hashed } = document;
  return jsonld.canonize(hashed, {
    algorithm: 'URDNA2015',
    format: 'application/n-quads',
    documentLoader,
  }) as Promise<string>;
}

/** SHA3-256 of the canonical N-Quads, lowercase hex: what an identiPay wallet computes. */
export async function computeIntentHash(document: Record<string, unknown>): Promise<string> {
  return bytesToHex(sha3_256(utf8ToBytes(await canonicalProposal(document))));
}
