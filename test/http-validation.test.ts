import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API, expectRejected } from './support/http.js';
import { demoKey, SAMPLE_PROPOSAL, startTestNode, type TestNode } from './support/node.js';

/** A valid proposal body with one member replaced or added at `path`. */
function withMember(path: string[], value: unknown): Record<string, unknown> {
  const body = structuredClone(SAMPLE_PROPOSAL) as unknown as Record<string, unknown>;
  let target: Record<string, unknown> = body;
  for (const key of path.slice(0, -1)) target = target[key] as Record<string, unknown>;
  target[path.at(-1) ?? ''] = value;
  return body;
}

const warrantyBody = withMember(['deliverables', 'warranty'], {
  durationDays: 30,
  transferable: false,
});
const constraintsBody = withMember(['constraints'], { ageGate: 18 });

describe('proposal input validation', () => {
  let node: TestNode;
  const post = (options: Parameters<TestNode['api']>[2]) =>
    node.api('POST', `${API}/proposals`, { key: demoKey(node), ...options });

  beforeAll(async () => {
    node = await startTestNode();
  });
  afterAll(async () => {
    await node.stop();
  });

  it('accepts the bodies the rejections below are derived from', async () => {
    for (const body of [SAMPLE_PROPOSAL, warrantyBody, constraintsBody]) {
      expect((await post({ body })).status).toBe(201);
    }
  });

  describe('unknown fields', () => {
    it.each([
      ['the top level', withMember(['buyer'], '0xabc')],
      ['an item', withMember(['items', '0', 'sku'], 'A-1')],
      ['the amount', withMember(['amount', 'decimals'], 6)],
      ['the deliverables', withMember(['deliverables', 'invoice'], true)],
      [
        'the warranty',
        withMember(['deliverables', 'warranty'], {
          durationDays: 30,
          transferable: false,
          provider: 'x',
        }),
      ],
      ['the constraints', withMember(['constraints'], { ageGate: 18, kycLevel: 2 })],
    ])('answers 400 for an unknown field in %s and writes nothing', async (_label, body) => {
      await expectRejected(node, () => post({ body }), 400);
    });

    it('answers 400 for an own "__proto__" member and writes nothing', async () => {
      const rawBody = JSON.stringify(SAMPLE_PROPOSAL).replace('{', '{"__proto__":{"x":1},');
      const headers = { 'content-type': 'application/json' };
      await expectRejected(node, () => post({ rawBody, headers }), 400);
    });
  });

  describe('wrong shapes', () => {
    it.each([
      ['items that are not an array', withMember(['items'], { name: 'x' })],
      ['no items', withMember(['items'], [])],
      ['a quantity given as a string', withMember(['items', '0', 'quantity'], '2')],
      ['a zero quantity', withMember(['items', '0', 'quantity'], 0)],
      ['a fractional quantity', withMember(['items', '0', 'quantity'], 1.5)],
      ['an empty item name', withMember(['items', '0', 'name'], ' ')],
      ['a missing amount', withMember(['amount'], undefined)],
      ['a receipt given as a string', withMember(['deliverables', 'receipt'], 'yes')],
      ['a missing deliverables', withMember(['deliverables'], undefined)],
      ['a lowercase region code', withMember(['constraints'], { regionRestriction: ['eu'] })],
      ['an empty region list', withMember(['constraints'], { regionRestriction: [] })],
      ['an age gate given as a string', withMember(['constraints'], { ageGate: '18' })],
    ])('answers 400 for %s and writes nothing', async (_label, body) => {
      await expectRejected(node, () => post({ body }), 400);
    });

    it.each([
      ['an array', '[]'],
      ['a string', '"proposal"'],
      ['null', 'null'],
      ['an empty body', ''],
    ])('answers 400 for a JSON body that is %s and writes nothing', async (_label, rawBody) => {
      const headers = { 'content-type': 'application/json' };
      await expectRejected(node, () => post({ rawBody, headers }), 400);
    });
  });

  describe('transport', () => {
    it('answers 400 for malformed JSON and writes nothing', async () => {
      const headers = { 'content-type': 'application/json' };
      const rawBody = JSON.stringify(SAMPLE_PROPOSAL).slice(0, -1);
      await expectRejected(node, () => post({ rawBody, headers }), 400);
    });

    it.each(['text/plain', 'application/x-www-form-urlencoded', 'application/xml'])(
      'answers 415 for a JSON body sent as %s and writes nothing',
      async (contentType) => {
        const rawBody = JSON.stringify(SAMPLE_PROPOSAL);
        const headers = { 'content-type': contentType };
        await expectRejected(node, () => post({ rawBody, headers }), 415);
      },
    );

    it('answers 413 for a body over the limit and writes nothing', async () => {
      const body = withMember(['items', '0', 'name'], 'x'.repeat(70 * 1024));
      await expectRejected(node, () => post({ body }), 413);
    });
  });

  describe('authentication', () => {
    it.each([
      ['no Authorization header', undefined],
      ['a Basic credential', 'Basic dXNlcjpwYXNz'],
      ['a Bearer scheme without a key', 'Bearer '],
      ['a key with a space in it', 'Bearer two words'],
      ['a key of 513 characters', `Bearer ${'k'.repeat(513)}`],
      ['a wrong key', 'Bearer ips_0000000000000000000000000000000000000000000'],
    ])('answers 401 for %s and writes nothing', async (_label, authorization) => {
      const headers: Record<string, string> = authorization ? { authorization } : {};
      await expectRejected(
        node,
        () => node.api('POST', `${API}/proposals`, { body: SAMPLE_PROPOSAL, headers }),
        401,
      );
    });

    it('answers 401 for the demo key with a character changed and writes nothing', async () => {
      const key = demoKey(node);
      const altered = `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`;
      await expectRejected(node, () => post({ key: altered, body: SAMPLE_PROPOSAL }), 401);
    });

    it('answers 401 before looking at an invalid body', async () => {
      await expectRejected(
        node,
        () => node.api('POST', `${API}/proposals`, { body: { nonsense: true } }),
        401,
      );
    });
  });
});
