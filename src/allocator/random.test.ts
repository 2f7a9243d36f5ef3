import { describe, expect, it } from 'vitest';
import { cryptoRandom, randomBelow, randomBigBelow, seededRandom as seeded } from './random.js';

/** Pearson's statistic of counts against equal expectations. */
function chiSquare(counts: readonly number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  const expected = total / counts.length;
  return counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
}

/**
 * A bound the statistic of a fair draw stays under except with probability far below 1e-6
 * (mean df, standard deviation √(2·df); Wilson–Hilferty puts the 1e-6 quantile under 6 of them).
 */
const chiSquareLimit = (df: number) => df + 6 * Math.sqrt(2 * df);

describe('randomBelow', () => {
  it('stays below the bound and covers it evenly, also for bounds that are not powers of two', () => {
    const random = seeded(1);
    for (const bound of [1, 2, 3, 7, 10, 1000]) {
      const counts = new Array<number>(bound).fill(0);
      for (let i = 0; i < bound * 400; i++) counts[randomBelow(bound, random)]!++;
      expect(counts.every((c) => c > 0)).toBe(true);
      if (bound > 1) expect(chiSquare(counts)).toBeLessThan(chiSquareLimit(bound - 1));
    }
  });

  it('draws 53-bit numbers evenly across their range', () => {
    const random = seeded(2);
    const bound = 2 ** 53 - 111;
    const buckets = new Array<number>(16).fill(0);
    for (let i = 0; i < 16_000; i++) {
      const value = randomBelow(bound, random);
      expect(value).toBeLessThan(bound);
      expect(Number.isInteger(value)).toBe(true);
      buckets[Math.floor(value / (bound / 16))]!++;
    }
    expect(chiSquare(buckets)).toBeLessThan(chiSquareLimit(15));
  });

  it('refuses a bound it cannot draw below, and a source that is not in [0, 1)', () => {
    expect(() => randomBelow(0, Math.random)).toThrow(RangeError);
    expect(() => randomBelow(2 ** 53 + 2, Math.random)).toThrow(RangeError);
    expect(() => randomBelow(1.5, Math.random)).toThrow(RangeError);
    expect(() => randomBelow(10, () => 1)).toThrow(/\[0, 1\)/);
  });
});

describe('randomBigBelow', () => {
  it('draws below bounds beyond 2^53, up to 2^128, evenly over their range', () => {
    const random = seeded(3);
    for (const bound of [(1n << 53n) + 1n, (1n << 64n) - 2n, 3n << 70n, 1n << 128n]) {
      const buckets = new Array<number>(8).fill(0);
      for (let i = 0; i < 8_000; i++) {
        const value = randomBigBelow(bound, random);
        expect(value >= 0n && value < bound).toBe(true);
        buckets[Number((value * 8n) / bound)]!++;
      }
      expect(chiSquare(buckets)).toBeLessThan(chiSquareLimit(7));
    }
  });

  it('is exact for a bound just above a power of two, where most draws are rejected', () => {
    const random = seeded(4);
    const bound = (1n << 64n) + 3n;
    const low = new Array<number>(4).fill(0);
    let high = 0;
    for (let i = 0; i < 40_000; i++) {
      const value = randomBigBelow(bound, random);
      expect(value < bound).toBe(true);
      if (value >= 1n << 64n) high++;
      else low[Number(value >> 62n)]!++;
    }
    expect(high).toBeLessThan(3); // 4 values in 2^64 + 4
    expect(chiSquare(low)).toBeLessThan(chiSquareLimit(3));
  });
});

describe('seededRandom', () => {
  it('repeats its numbers for a seed and differs between seeds', () => {
    const take = (seed: number) => Array.from({ length: 5 }, seeded(seed));
    expect(take(9)).toEqual(take(9));
    expect(take(9)).not.toEqual(take(10));
  });
});

describe('cryptoRandom', () => {
  it('gives numbers in [0, 1) with 32 random bits', () => {
    const random = cryptoRandom();
    const values = Array.from({ length: 2_000 }, random);
    expect(values.every((v) => v >= 0 && v < 1)).toBe(true);
    expect(new Set(values).size).toBeGreaterThan(1_990);
  });
});
