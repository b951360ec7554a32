import { describe, expect, it } from 'vitest';
import { ClientAddresses, ConnectionCounts, RateLimiter } from './index.js';

describe('RateLimiter', () => {
  const clock = () => {
    let now = 1_000_000;
    return { now: () => now, advance: (ms: number) => (now += ms) };
  };

  it('allows a burst of perMinute, then answers the whole seconds until the next token', () => {
    const time = clock();
    const limiter = new RateLimiter(6, time.now);
    for (let i = 0; i < 6; i++) expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBe(10);
    time.advance(4_000);
    expect(limiter.take('a')).toBe(6);
    time.advance(6_000);
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBe(10);
  });

  it('keeps one bucket per key', () => {
    const limiter = new RateLimiter(1, clock().now);
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBe(60);
    expect(limiter.take('b')).toBe(0);
  });

  it('never refills beyond the burst', () => {
    const time = clock();
    const limiter = new RateLimiter(2, time.now);
    limiter.take('a');
    time.advance(3_600_000);
    expect([limiter.take('a'), limiter.take('a'), limiter.take('a')]).toEqual([0, 0, 30]);
  });

  it('is unlimited at 0 and stores nothing', () => {
    const limiter = new RateLimiter(0);
    for (let i = 0; i < 1000; i++) expect(limiter.take(`k${i}`)).toBe(0);
    expect(limiter.size).toBe(0);
  });

  it('forgets keys whose bucket has refilled, so memory follows recent keys only', () => {
    const time = clock();
    const limiter = new RateLimiter(60, time.now);
    for (let i = 0; i < 1024; i++) limiter.take(`old-${i}`);
    expect(limiter.size).toBe(1024);
    time.advance(1_000); // one token back each: full again
    limiter.take('new');
    expect(limiter.size).toBe(1);
  });
});

describe('ConnectionCounts', () => {
  it('caps each key, and returns to nothing when every connection is released', () => {
    const counts = new ConnectionCounts();
    expect(counts.tryAcquire('a', 2)).toBe(true);
    expect(counts.tryAcquire('a', 2)).toBe(true);
    expect(counts.tryAcquire('a', 2)).toBe(false);
    expect(counts.tryAcquire('b', 2)).toBe(true);
    expect([counts.count('a'), counts.total, counts.keys]).toEqual([2, 3, 2]);
    counts.release('a');
    expect(counts.tryAcquire('a', 2)).toBe(true);
    counts.release('a');
    counts.release('a');
    counts.release('b');
    counts.release('never-acquired');
    expect([counts.count('a'), counts.total, counts.keys]).toEqual([0, 0, 0]);
  });
});

describe('ClientAddresses', () => {
  it('ignores X-Forwarded-For when no proxy is trusted', () => {
    expect(new ClientAddresses([]).resolve('10.0.0.1', '203.0.113.9')).toBe('10.0.0.1');
  });

  it('ignores X-Forwarded-For from a peer that is not trusted', () => {
    const addresses = new ClientAddresses(['10.0.0.0/8']);
    expect(addresses.resolve('192.0.2.1', '203.0.113.9')).toBe('192.0.2.1');
  });

  it('takes the nearest untrusted hop behind trusted proxies, not what the client claims', () => {
    const addresses = new ClientAddresses(['10.0.0.0/8', '192.0.2.7']);
    // The client wrote "1.1.1.1" itself; 198.51.100.5 is who connected to the first proxy.
    expect(addresses.resolve('10.1.2.3', '1.1.1.1, 198.51.100.5, 192.0.2.7')).toBe('198.51.100.5');
    expect(addresses.resolve('10.1.2.3', ['1.1.1.1', '198.51.100.5'])).toBe('198.51.100.5');
    expect(addresses.resolve('10.1.2.3', undefined)).toBe('10.1.2.3');
  });

  it('stops at a garbled hop, and takes the leftmost when every hop is trusted', () => {
    const addresses = new ClientAddresses(['10.0.0.0/8']);
    expect(addresses.resolve('10.0.0.1', 'nonsense, 10.0.0.2')).toBe('10.0.0.2');
    expect(addresses.resolve('10.0.0.1', '10.0.0.3, 10.0.0.2')).toBe('10.0.0.3');
  });

  it('spells IPv4-mapped IPv6 as IPv4 and matches IPv6 blocks', () => {
    const addresses = new ClientAddresses(['127.0.0.1', 'fd00::/8']);
    expect(addresses.resolve('::ffff:127.0.0.1', '2001:DB8::1')).toBe('2001:db8::1');
    expect(addresses.resolve('fd12::1', '203.0.113.4')).toBe('203.0.113.4');
    expect(addresses.isTrusted('::ffff:127.0.0.1')).toBe(true);
    expect(addresses.isTrusted('fe80::1')).toBe(false);
  });
});
