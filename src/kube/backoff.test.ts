import { describe, expect, it } from 'vitest';
import {
  Backoff,
  BucketRateLimiter,
  defaultControllerRateLimiter,
  ExponentialFailureRateLimiter,
  sleep,
} from './backoff.js';

describe('Backoff', () => {
  it('doubles from the initial delay up to the cap, stretched by at most the jitter', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, jitter: 0.5, random: () => 1 });
    expect([b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([150, 300, 600, 1000, 1000]);
    const plain = new Backoff({ initialMs: 100, maxMs: 1000, jitter: 0.5, random: () => 0 });
    expect([plain.next(), plain.next(), plain.next()]).toEqual([100, 200, 400]);
  });

  it('starts over after reset', () => {
    const b = new Backoff({ initialMs: 10, jitter: 0 });
    b.next();
    b.next();
    expect(b.attempts).toBe(2);
    b.reset();
    expect(b.next()).toBe(10);
  });
});

describe('rate limiters', () => {
  it('backs a key off exponentially from 5 ms and caps at 1000 s', () => {
    const l = new ExponentialFailureRateLimiter<string>();
    expect([l.when('a'), l.when('a'), l.when('a'), l.when('b')]).toEqual([5, 10, 20, 5]);
    for (let i = 0; i < 100; i++) l.when('a');
    expect(l.when('a')).toBe(1_000_000);
    l.forget('a');
    expect(l.when('a')).toBe(5);
  });

  it('lets a burst through and then spaces keys at the bucket rate', () => {
    let now = 0;
    const l = new BucketRateLimiter<string>(10, 3, () => now);
    expect([l.when('a'), l.when('b'), l.when('c')]).toEqual([0, 0, 0]);
    expect(l.when('d')).toBe(100);
    expect(l.when('e')).toBe(200);
    now = 1000; // ten tokens refilled, minus the two borrowed, capped at the burst
    expect(l.when('f')).toBe(0);
  });

  it('takes the longer delay of per-key and overall limits by default', () => {
    const l = defaultControllerRateLimiter<string>();
    expect(l.when('a')).toBe(5);
    expect(l.when('a')).toBe(10);
    expect(l.numRequeues('a')).toBe(2);
  });
});

describe('sleep', () => {
  it('returns false at once when aborted', async () => {
    const ac = new AbortController();
    const slept = sleep(60_000, ac.signal);
    ac.abort();
    expect(await slept).toBe(false);
    expect(await sleep(0)).toBe(true);
  });
});
