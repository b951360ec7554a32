import { describe, expect, it } from 'vitest';
import { nodeReadiness, type NodeReadinessDeps } from './health.js';

const NOW = new Date('2026-01-01T00:00:10Z');

function checks(overrides: Partial<NodeReadinessDeps> = {}) {
  return nodeReadiness({
    pingStore: async () => {},
    bus: { subscribed: true },
    indexer: () => ({ role: 'leader', progressAt: new Date('2026-01-01T00:00:05Z') }),
    maxIndexerLagMs: 30_000,
    now: () => NOW,
    ...overrides,
  });
}

describe('node readiness', () => {
  it('passes every check on a healthy leader', async () => {
    const all = checks();
    expect(await all.store?.()).toEqual({ ok: true });
    expect(await all.bus?.()).toEqual({ ok: true });
    expect(await all.indexer?.()).toEqual({ ok: true, detail: 'leader' });
  });

  it('fails the bus check while the bus is not subscribed', async () => {
    expect(await checks({ bus: { subscribed: false } }).bus?.()).toEqual({
      ok: false,
      detail: 'not subscribed',
    });
  });

  it('fails the indexer check when the leader has applied no batch within the allowed lag', async () => {
    const stalled = checks({
      maxIndexerLagMs: 1_000,
      indexer: () => ({ role: 'leader', progressAt: new Date('2026-01-01T00:00:05Z') }),
    });
    expect(await stalled.indexer?.()).toEqual({
      ok: false,
      detail: 'leader, no batch for 5000 ms',
    });
  });

  it('passes the indexer check on a standby, whatever its last batch', async () => {
    const standby = checks({ indexer: () => ({ role: 'standby', progressAt: undefined }) });
    expect(await standby.indexer?.()).toEqual({ ok: true, detail: 'standby' });
  });

  it('lets a failing store query reject (the route turns it into a failing check)', async () => {
    const failing = checks({ pingStore: () => Promise.reject(new Error('gone')) });
    await expect(failing.store?.()).rejects.toThrow('gone');
  });
});
