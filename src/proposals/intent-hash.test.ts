import { createHash } from 'node:crypto';
import net from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { canonicalProposal, computeIntentHash } from './intent-hash.js';

/*
 * Test vectors written by hand from the JSON-LD → RDF rules and URDNA2015, not produced by the
 * code under test. The root and every nested object are blank nodes; @type is rdf:type; each
 * array element is its own triple; strings are plain literals; integers xsd:integer; booleans
 * xsd:boolean. Blank nodes here all have distinct first-degree hashes, so URDNA2015 labels them
 * _:c14n0, _:c14n1, … in the order of those hashes (checked below without jsonld), and the
 * output lines are sorted.
 */
const PACKAGE = `0x${'5a'.repeat(32)}`;

const coffee = {
  '@context': 'https://schema.identipay.net/v1',
  '@type': 'CommerceProposal',
  transactionId: '550e8400-e29b-41d4-a716-446655440000',
  merchant: {
    did: 'did:identipay:cafe.example.com:3f2b8c1e-5d4a-4e6f-9a7b-1c2d3e4f5a6b',
    name: 'Corner Cafe',
    suiAddress: `0x${'ab'.repeat(32)}`,
    publicKey: 'cd'.repeat(32),
  },
  items: [
    { name: 'Espresso', quantity: 2, unitPrice: '2.50' },
    { name: 'Croissant', quantity: 1, unitPrice: '3.00', currency: 'USDC' },
  ],
  amount: { value: '8.00', currency: 'USDC' },
  deliverables: { receipt: true },
  expiresAt: '2025-06-01T12:00:00Z',
  settlementChain: 'sui',
  settlementModule: `${PACKAGE}::settlement`,
};

// _:c14n0 merchant, 1 deliverables, 2 proposal, 3 Espresso, 4 amount, 5 Croissant.
const coffeeNQuads = [
  '_:c14n0 <https://schema.identipay.net/v1#did> "did:identipay:cafe.example.com:3f2b8c1e-5d4a-4e6f-9a7b-1c2d3e4f5a6b" .',
  '_:c14n0 <https://schema.identipay.net/v1#name> "Corner Cafe" .',
  `_:c14n0 <https://schema.identipay.net/v1#publicKey> "${'cd'.repeat(32)}" .`,
  `_:c14n0 <https://schema.identipay.net/v1#suiAddress> "0x${'ab'.repeat(32)}" .`,
  '_:c14n1 <https://schema.identipay.net/v1#receipt> "true"^^<http://www.w3.org/2001/XMLSchema#boolean> .',
  '_:c14n2 <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <https://schema.identipay.net/v1#CommerceProposal> .',
  '_:c14n2 <https://schema.identipay.net/v1#amount> _:c14n4 .',
  '_:c14n2 <https://schema.identipay.net/v1#deliverables> _:c14n1 .',
  '_:c14n2 <https://schema.identipay.net/v1#expiresAt> "2025-06-01T12:00:00Z" .',
  '_:c14n2 <https://schema.identipay.net/v1#items> _:c14n3 .',
  '_:c14n2 <https://schema.identipay.net/v1#items> _:c14n5 .',
  '_:c14n2 <https://schema.identipay.net/v1#merchant> _:c14n0 .',
  '_:c14n2 <https://schema.identipay.net/v1#settlementChain> "sui" .',
  `_:c14n2 <https://schema.identipay.net/v1#settlementModule> "${PACKAGE}::settlement" .`,
  '_:c14n2 <https://schema.identipay.net/v1#transactionId> "550e8400-e29b-41d4-a716-446655440000" .',
  '_:c14n3 <https://schema.identipay.net/v1#name> "Espresso" .',
  '_:c14n3 <https://schema.identipay.net/v1#quantity> "2"^^<http://www.w3.org/2001/XMLSchema#integer> .',
  '_:c14n3 <https://schema.identipay.net/v1#unitPrice> "2.50" .',
  '_:c14n4 <https://schema.identipay.net/v1#currency> "USDC" .',
  '_:c14n4 <https://schema.identipay.net/v1#value> "8.00" .',
  '_:c14n5 <https://schema.identipay.net/v1#currency> "USDC" .',
  '_:c14n5 <https://schema.identipay.net/v1#name> "Croissant" .',
  '_:c14n5 <https://schema.identipay.net/v1#quantity> "1"^^<http://www.w3.org/2001/XMLSchema#integer> .',
  '_:c14n5 <https://schema.identipay.net/v1#unitPrice> "3.00" .',
];

const headphones = {
  '@context': 'https://schema.identipay.net/v1',
  '@type': 'CommerceProposal',
  transactionId: '9b2f4c6e-8a1d-4f3b-b5c7-2e4a6c8d0f12',
  merchant: {
    did: 'did:identipay:gadgets.example:7a1e2b3c-4d5e-4f60-8a9b-0c1d2e3f4a5b',
    name: 'Gadget Store',
    suiAddress: `0x${'12'.repeat(32)}`,
    publicKey: '34'.repeat(32),
  },
  items: [{ name: 'Headphones', quantity: 1, unitPrice: '149.000000001' }],
  amount: { value: '149.000000001', currency: 'SUI' },
  deliverables: { receipt: true, warranty: { durationDays: 365, transferable: false } },
  constraints: { ageGate: 18, regionRestriction: ['EU', 'CH'] },
  expiresAt: '2025-12-24T18:30:00Z',
  settlementChain: 'sui',
  settlementModule: `${PACKAGE}::settlement`,
};

// _:c14n0 warranty, 1 item, 2 proposal, 3 constraints, 4 merchant, 5 amount, 6 deliverables.
const headphonesNQuads = [
  '_:c14n0 <https://schema.identipay.net/v1#durationDays> "365"^^<http://www.w3.org/2001/XMLSchema#integer> .',
  '_:c14n0 <https://schema.identipay.net/v1#transferable> "false"^^<http://www.w3.org/2001/XMLSchema#boolean> .',
  '_:c14n1 <https://schema.identipay.net/v1#name> "Headphones" .',
  '_:c14n1 <https://schema.identipay.net/v1#quantity> "1"^^<http://www.w3.org/2001/XMLSchema#integer> .',
  '_:c14n1 <https://schema.identipay.net/v1#unitPrice> "149.000000001" .',
  '_:c14n2 <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <https://schema.identipay.net/v1#CommerceProposal> .',
  '_:c14n2 <https://schema.identipay.net/v1#amount> _:c14n5 .',
  '_:c14n2 <https://schema.identipay.net/v1#constraints> _:c14n3 .',
  '_:c14n2 <https://schema.identipay.net/v1#deliverables> _:c14n6 .',
  '_:c14n2 <https://schema.identipay.net/v1#expiresAt> "2025-12-24T18:30:00Z" .',
  '_:c14n2 <https://schema.identipay.net/v1#items> _:c14n1 .',
  '_:c14n2 <https://schema.identipay.net/v1#merchant> _:c14n4 .',
  '_:c14n2 <https://schema.identipay.net/v1#settlementChain> "sui" .',
  `_:c14n2 <https://schema.identipay.net/v1#settlementModule> "${PACKAGE}::settlement" .`,
  '_:c14n2 <https://schema.identipay.net/v1#transactionId> "9b2f4c6e-8a1d-4f3b-b5c7-2e4a6c8d0f12" .',
  '_:c14n3 <https://schema.identipay.net/v1#ageGate> "18"^^<http://www.w3.org/2001/XMLSchema#integer> .',
  '_:c14n3 <https://schema.identipay.net/v1#regionRestriction> "CH" .',
  '_:c14n3 <https://schema.identipay.net/v1#regionRestriction> "EU" .',
  '_:c14n4 <https://schema.identipay.net/v1#did> "did:identipay:gadgets.example:7a1e2b3c-4d5e-4f60-8a9b-0c1d2e3f4a5b" .',
  '_:c14n4 <https://schema.identipay.net/v1#name> "Gadget Store" .',
  `_:c14n4 <https://schema.identipay.net/v1#publicKey> "${'34'.repeat(32)}" .`,
  `_:c14n4 <https://schema.identipay.net/v1#suiAddress> "0x${'12'.repeat(32)}" .`,
  '_:c14n5 <https://schema.identipay.net/v1#currency> "SUI" .',
  '_:c14n5 <https://schema.identipay.net/v1#value> "149.000000001" .',
  '_:c14n6 <https://schema.identipay.net/v1#receipt> "true"^^<http://www.w3.org/2001/XMLSchema#boolean> .',
  '_:c14n6 <https://schema.identipay.net/v1#warranty> _:c14n0 .',
];

const vectors = [
  { name: 'a coffee order with two items', document: coffee, lines: coffeeNQuads },
  {
    name: 'headphones with a warranty and constraints',
    document: headphones,
    lines: headphonesNQuads,
  },
];

const nquads = (lines: string[]) => lines.map((line) => `${line}\n`).join('');
const sha3 = (text: string) => createHash('sha3-256').update(text, 'utf8').digest('hex');

/** URDNA2015 "Hash First Degree Quads": the label's own quads, itself _:a, others _:z. */
function firstDegreeHash(lines: string[], label: string): string {
  const own = lines
    .filter((line) => line.split(' ').includes(label))
    .map((line) => line.replace(/_:c14n\d+/g, (found) => (found === label ? '_:a' : '_:z')))
    .sort();
  return createHash('sha256').update(nquads(own)).digest('hex');
}

/** Reverses the key order of every object, recursively. */
function reversed(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reversed);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .reverse()
      .map(([key, inner]) => [key, reversed(inner)]),
  );
}

describe('intent hash', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  describe.each(vectors)('vector: $name', ({ document, lines }) => {
    it('is a canonical form: sorted lines, labels in first-degree hash order', () => {
      expect([...lines].sort()).toEqual(lines);
      const labels = [...new Set(lines.flatMap((line) => line.match(/_:c14n\d+/g) ?? []))];
      const hashes = labels
        .sort((a, b) => Number(a.slice(6)) - Number(b.slice(6)))
        .map((label) => firstDegreeHash(lines, label));
      expect([...hashes].sort()).toEqual(hashes);
      expect(new Set(hashes).size).toBe(hashes.length);
    });

    it('canonicalises to the hand-written N-Quads', async () => {
      expect(await canonicalProposal(document)).toBe(nquads(lines));
    });

    it('hashes to SHA3-256 of the hand-written N-Quads, in lowercase hex', async () => {
      expect(await computeIntentHash(document)).toBe(sha3(nquads(lines)));
    });
  });

  it('ignores an intentHash member in its input', async () => {
    const withHash = { ...coffee, intentHash: 'f'.repeat(64) };
    expect(await computeIntentHash(withHash)).toBe(sha3(nquads(coffeeNQuads)));
  });

  it('does not depend on the order of keys', async () => {
    const shuffled = reversed(headphones) as Record<string, unknown>;
    expect(Object.keys(shuffled)[0]).toBe('settlementModule');
    expect(await computeIntentHash(shuffled)).toBe(sha3(nquads(headphonesNQuads)));
  });

  it('does not depend on the order of items: RDF has no order for repeated members', async () => {
    const swapped = { ...coffee, items: [...coffee.items].reverse() };
    expect(await computeIntentHash(swapped)).toBe(sha3(nquads(coffeeNQuads)));
  });

  it.each([
    ['the amount', { amount: { value: '8.01', currency: 'USDC' } }],
    ['the currency', { amount: { value: '8.00', currency: 'SUI' } }],
    ['a quantity', { items: [{ ...coffee.items[0], quantity: 3 }, coffee.items[1]] }],
    ['the expiry', { expiresAt: '2025-06-01T12:00:01Z' }],
    ['the receipt flag', { deliverables: { receipt: false } }],
    [
      'the merchant address',
      { merchant: { ...coffee.merchant, suiAddress: `0x${'ac'.repeat(32)}` } },
    ],
  ])('changes when %s changes', async (_label, change) => {
    expect(await computeIntentHash({ ...coffee, ...change })).not.toBe(sha3(nquads(coffeeNQuads)));
  });

  it('treats the embedded context like its inline equivalent', async () => {
    const inline = { ...coffee, '@context': { '@vocab': 'https://schema.identipay.net/v1#' } };
    expect(await computeIntentHash(inline)).toBe(sha3(nquads(coffeeNQuads)));
  });

  it('rejects any other remote context without touching the network', async () => {
    const connect = vi.spyOn(net.Socket.prototype, 'connect');
    const fetch = vi.spyOn(globalThis, 'fetch');
    await expect(
      computeIntentHash({ ...coffee, '@context': 'https://schema.example.org/v1' }),
    ).rejects.toThrow();
    await expect(
      computeIntentHash({
        ...coffee,
        '@context': ['https://schema.identipay.net/v1', 'https://schema.example.org/extra'],
      }),
    ).rejects.toThrow();
    expect(await computeIntentHash(coffee)).toBe(sha3(nquads(coffeeNQuads)));
    expect(connect).not.toHaveBeenCalled();
    expect(fetch).not.toHaveBeenCalled();
  });
});
