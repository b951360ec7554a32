import { describe, expect, it } from 'vitest';
import { createBackoff } from './backoff.js';

describe('backoff', () => {
  it('draws each delay between 0 and a ceiling that doubles from the base up to the cap', () => {
    const high = createBackoff({ baseMs: 100, capMs: 1_000, factor: 2, random: () => 0.999999 });
    const low = createBackoff({ baseMs: 100, capMs: 1_000, factor: 2, random: () => 0 });
    const highs = Array.from({ length: 7 }, () => high.next());
    expect(highs).toEqual([99, 199, 399, 799, 999, 999, 999]);
    expect(Array.from({ length: 7 }, () => low.next())).toEqual([0, 0, 0, 0, 0, 0, 0]);
  });

  it('never exceeds the cap however many attempts fail', () => {
    const backoff = createBackoff({ baseMs: 1, capMs: 50, factor: 10, random: () => 0.999999 });
    for (let attempt = 0; attempt < 2_000; attempt += 1) expect(backoff.next()).toBeLessThan(50);
  });

  it('scales the ceiling by the random draw (full jitter)', () => {
    const backoff = createBackoff({ baseMs: 1_000, capMs: 60_000, factor: 3, random: () => 0.5 });
    expect([backoff.next(), backoff.next(), backoff.next()]).toEqual([500, 1_500, 4_500]);
  });

  it('starts again from the base after a reset', () => {
    const backoff = createBackoff({ baseMs: 100, capMs: 10_000, random: () => 0.5 });
    backoff.next();
    backoff.next();
    backoff.reset();
    expect(backoff.next()).toBe(50);
  });
});
