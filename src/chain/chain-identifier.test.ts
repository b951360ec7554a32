import { randomBytes } from 'node:crypto';
import { toBase58 } from '@mysten/sui/utils';
import { describe, expect, it } from 'vitest';
import { MAINNET_CHAIN_ID } from '../../test/fixtures/chain/fake-sui-node.js';
import { chainIdentifierOfGenesis, normaliseChainIdentifier } from './chain-identifier.js';
import { ChainProtocolError } from './errors.js';

describe('chain identifier', () => {
  it("reduces a Base58 genesis digest (gRPC's chain_id) to the short form GraphQL serves", () => {
    expect(normaliseChainIdentifier(MAINNET_CHAIN_ID)).toBe('35834a8a');
    expect(normaliseChainIdentifier('69WiPg3DAQiwdxfncX6wYQ2siKwAe6L9BZthQea3JNMD')).toBe(
      '4c78adac',
    );
  });

  it('keeps the short form, in lowercase', () => {
    expect(normaliseChainIdentifier('35834a8a')).toBe('35834a8a');
    expect(normaliseChainIdentifier('4C78ADAC')).toBe('4c78adac');
  });

  it('refuses what is not a chain identifier', () => {
    for (const bad of ['', 'sandbox0', '0x35834a8a', '35834a8a0', toBase58(randomBytes(16))]) {
      expect(() => normaliseChainIdentifier(bad)).toThrow(ChainProtocolError);
    }
  });

  it('takes the first four bytes of a genesis digest', () => {
    const digest = Uint8Array.from({ length: 32 }, (_, i) => i + 0xa0);
    expect(chainIdentifierOfGenesis(digest)).toBe('a0a1a2a3');
    expect(() => chainIdentifierOfGenesis(digest.subarray(0, 31))).toThrow();
  });
});
