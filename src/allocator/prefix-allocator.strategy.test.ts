/**
 * The strategies through PrefixAllocator, where holds of another length cover children that must
 * never be handed out: Highest skips them downwards, RoundRobin from its position, and Random
 * draws uniformly among the free children no hold covers.
 */
import { describe, expect, it } from 'vitest';
import { formatPrefix, parsePrefix } from '../ip/index.js';
import { PrefixAllocator, type PrefixAllocatorOptions } from './prefix-allocator.js';
import { seededRandom } from './random.js';

function allocator(prefixes: string[], allocationPrefixLength: number, options: PrefixAllocatorOptions) {
  const result = PrefixAllocator.fromSpec({ prefixes, allocationPrefixLength }, options);
  if (!result.ok) throw new Error(result.error);
  return result.value;
}

/** The /64 number n of fd00::/56 (n < 256). */
const child = (n: number) => formatPrefix({ network: (0xfd00n << 112n) | (BigInt(n) << 64n), length: 64 });

function chiSquare(counts: readonly number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  const expected = total / counts.length;
  return counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
}
const chiSquareLimit = (df: number) => df + 6 * Math.sqrt(2 * df);

describe('Highest in a prefix pool', () => {
  it('hands out the highest child first and jumps down over a covered range', () => {
    const a = allocator(['fd00::/56'], 64, { strategy: 'Highest' });
    expect(a.reserve('fd00:0:0:f0::/60')).toBe('outside'); // covers children 0xf0–0xff
    expect([a.reserveNext(), a.reserveNext()]).toEqual([child(0xef), child(0xee)]);
    a.release('fd00:0:0:f0::/60');
    expect(a.reserveNext()).toBe(child(0xff));
  });
});

describe('RoundRobin in a prefix pool', () => {
  it('continues after the child handed out last, past covered ranges, and wraps', () => {
    const a = allocator(['fd00::/56'], 64, { strategy: 'RoundRobin' });
    expect([a.reserveNext(), a.reserveNext()]).toEqual([child(0), child(1)]);
    a.release(child(0));
    a.reserve('fd00:0:0:2::/63'); // covers 2 and 3
    expect(a.reserveNext()).toBe(child(4));
    expect(a.lastAllocated).toBe(child(4));
    a.restoreLastAllocated(child(0xfe));
    expect([a.reserveNext(), a.reserveNext()]).toEqual([child(0xff), child(0)]);
  });

  it('restores a position that is no longer a candidate after the nearest candidate below it', () => {
    const a = allocator(['fd00::/60', 'fd00:0:0:20::/60'], 64, { strategy: 'RoundRobin' });
    a.restoreLastAllocated('fd00:0:0:18::/64'); // between the two prefixes
    expect(a.reserveNext()).toBe(child(0x20));
    a.restoreLastAllocated('fd00:0:0:2::/63'); // another length: after its first child, 2
    expect(a.reserveNext()).toBe(child(3));
    a.restoreLastAllocated('not a prefix');
    expect(a.reserveNext()).toBe(child(0));
    a.restoreLastAllocated('fc00::/64'); // below every candidate
    expect(a.reserveNext()).toBe(child(1));
  });

  it('has no position under another strategy', () => {
    const a = allocator(['fd00::/56'], 64, { strategy: 'Lowest' });
    a.restoreLastAllocated(child(9));
    expect(a.reserveNext()).toBe(child(0));
    expect(a.lastAllocated).toBeUndefined();
    expect(a.strategy).toBe('Lowest');
  });
});

describe('Random in a prefix pool', () => {
  it('hits every free uncovered child equally often, and never a covered or held one', () => {
    const a = allocator(['fd00::/56'], 64, { strategy: 'Random', random: seededRandom(11) });
    a.reserve(child(0x05)); // reserved, then covered too
    a.reserve('fd00::/58'); // covers 0x00–0x3f
    a.reserve('fd00:0:0:10::/60'); // nested in it
    a.reserve('fd00:0:0:f8::/61'); // covers 0xf8–0xff, the top
    a.reserve('fd00:0:0:80::/57'); // covers 0x80–0xff: the /61 is now nested in it
    for (const n of [0x40, 0x41, 0x55, 0x7f]) a.reserve(child(n));
    a.release('fd00:0:0:80::/57'); // 0x80–0xf7 open again, the /61 still covers the top
    a.release(child(0x41));
    const open = new Set<string>();
    for (let n = 0x40; n < 0xf8; n++) if (![0x40, 0x55, 0x7f].includes(n)) open.add(child(n));
    const counts = new Map<string, number>();
    const picks = 400 * open.size;
    for (let i = 0; i < picks; i++) {
      const picked = a.reserveNext()!;
      counts.set(picked, (counts.get(picked) ?? 0) + 1);
      a.release(picked); // the same state for every pick
    }
    expect([...counts.keys()].sort()).toEqual([...open].sort());
    // Each within 5 standard deviations (√400 = 20) of 400, and the whole fair.
    for (const [prefix, count] of counts) expect(Math.abs(count - 400), prefix).toBeLessThan(100);
    expect(chiSquare([...counts.values()])).toBeLessThan(chiSquareLimit(open.size - 1));
  });

  it('draws evenly over the uncovered part of a /64 of /128s, where a hold covers 2^63 children', () => {
    const a = allocator(['fd00::/64'], 128, { strategy: 'Random', random: seededRandom(12) });
    a.reserve('fd00::/65'); // the lower half
    a.reserve('fd00::c000:0:0:0/66'); // the top quarter
    const buckets = new Array<number>(4).fill(0); // eighths 4 and 5, the open ones, in halves
    for (let i = 0; i < 4_000; i++) {
      const picked = a.reserveNext()!;
      const parsed = parsePrefix(picked);
      if (!parsed.ok) throw new Error(parsed.error);
      const sixteenth = Number((parsed.value.network >> 60n) & 15n);
      expect(sixteenth >= 8 && sixteenth < 12, picked).toBe(true);
      buckets[sixteenth - 8]!++;
    }
    expect(chiSquare(buckets)).toBeLessThan(chiSquareLimit(3));
    // With every hold released, the whole /64 is open again: every quarter gets its share.
    a.release('fd00::/65');
    a.release('fd00::c000:0:0:0/66');
    const quarters = new Array<number>(4).fill(0);
    for (let i = 0; i < 4_000; i++) {
      const parsed = parsePrefix(a.reserveNext()!);
      if (!parsed.ok) throw new Error(parsed.error);
      quarters[Number((parsed.value.network >> 62n) & 3n)]!++;
    }
    expect(chiSquare(quarters)).toBeLessThan(chiSquareLimit(3));
  });
});
