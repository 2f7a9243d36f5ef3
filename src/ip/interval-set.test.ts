import { describe, expect, it } from 'vitest';
import { IntervalSet, type Range } from './interval-set.js';

const r = (first: number, last: number): Range => ({ first: BigInt(first), last: BigInt(last) });
const set = (...ranges: [number, number][]) => IntervalSet.of(ranges.map(([a, b]) => r(a, b)));
const plain = (s: IntervalSet) => s.ranges.map((x) => [Number(x.first), Number(x.last)]);

describe('IntervalSet', () => {
  it('sorts, merges overlapping and adjacent ranges, and drops empty ones', () => {
    expect(plain(set([10, 20], [1, 3], [4, 5], [15, 30], [40, 40], [9, 8]))).toEqual([
      [1, 5],
      [10, 30],
      [40, 40],
    ]);
  });

  it('counts members exactly, beyond the range of a number', () => {
    expect(set([1, 5], [10, 10]).size).toBe(6n);
    expect(IntervalSet.range(0n, (1n << 128n) - 1n).size).toBe(1n << 128n);
    expect(IntervalSet.EMPTY.size).toBe(0n);
  });

  it('answers membership at range edges', () => {
    const s = set([1, 5], [10, 12]);
    expect([0, 1, 5, 6, 9, 10, 12, 13].map((v) => s.contains(BigInt(v)))).toEqual([
      false,
      true,
      true,
      false,
      false,
      true,
      true,
      false,
    ]);
    expect(s.containsRange(2n, 5n)).toBe(true);
    expect(s.containsRange(4n, 10n)).toBe(false);
    expect(s.containsSet(set([1, 2], [11, 12]))).toBe(true);
  });

  it('subtracts ranges that cut, split and swallow', () => {
    const s = set([0, 100]);
    expect(plain(s.subtract(set([0, 0], [10, 20], [50, 50], [100, 200])))).toEqual([
      [1, 9],
      [21, 49],
      [51, 99],
    ]);
    expect(s.subtract(set([-5, 500])).isEmpty).toBe(true);
    expect(plain(set([1, 3], [7, 9]).subtract(set([2, 8])))).toEqual([
      [1, 1],
      [9, 9],
    ]);
  });

  it('intersects and detects overlap', () => {
    expect(plain(set([0, 10], [20, 30]).intersect(set([5, 25])))).toEqual([
      [5, 10],
      [20, 25],
    ]);
    expect(set([0, 10]).overlaps(set([11, 20]))).toBe(false);
    expect(set([0, 10]).overlaps(set([10, 20]))).toBe(true);
  });

  it('unions and reports lowest and highest', () => {
    const u = set([5, 6]).union(set([1, 2], [7, 9]));
    expect(plain(u)).toEqual([
      [1, 2],
      [5, 9],
    ]);
    expect(u.lowest).toBe(1n);
    expect(u.highest).toBe(9n);
    expect(IntervalSet.EMPTY.lowest).toBeUndefined();
  });

  it('agrees with a plain set of numbers on random operations', () => {
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const randomSet = () => {
      const ranges: [number, number][] = [];
      for (let i = random(5); i > 0; i--) {
        const a = random(60);
        ranges.push([a, a + random(8)]);
      }
      return set(...ranges);
    };
    const members = (s: IntervalSet) => new Set([...s.values()].map(Number));
    for (let round = 0; round < 500; round++) {
      const a = randomSet();
      const b = randomSet();
      const ma = members(a);
      const mb = members(b);
      expect(members(a.union(b))).toEqual(new Set([...ma, ...mb]));
      expect(members(a.subtract(b))).toEqual(new Set([...ma].filter((v) => !mb.has(v))));
      expect(members(a.intersect(b))).toEqual(new Set([...ma].filter((v) => mb.has(v))));
      expect(a.size).toBe(BigInt(ma.size));
      expect(a.overlaps(b)).toBe([...ma].some((v) => mb.has(v)));
      expect(IntervalSet.of(a.union(b).ranges).equals(a.union(b))).toBe(true);
    }
  });
});
