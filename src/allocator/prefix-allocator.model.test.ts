/**
 * The prefix allocator against a naive model of the Go provider's search: the lowest
 * `/allocationPrefixLength` child inside the prefixes that overlaps no excluded entry and no held
 * prefix (of any length). Random pools and random reserve / release / reserveNext sequences.
 */
import { describe, expect, it } from 'vitest';
import { formatPrefix, parsePrefix, subnetRange } from '../ip/index.js';
import { PrefixAllocator } from './prefix-allocator.js';

function prng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const BASE = 0xfd00n << 112n;

describe('the prefix allocator, against a model of the Go search', () => {
  it.each(Array.from({ length: 25 }, (_, i) => i + 1))('agrees on seed %i', (seed) => {
    const rand = prng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
    const allocLen = pick([64, 63, 62]);
    // Prefixes and exclusions inside fd00::/56, so the space stays small enough to enumerate.
    const prefixes = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => {
      const length = 58 + Math.floor(rand() * (allocLen - 57));
      const network = subnetRange(6, BASE + (BigInt(Math.floor(rand() * 256)) << 64n), length).first;
      return formatPrefix({ network, length });
    });
    const excluded = Array.from({ length: Math.floor(rand() * 3) }, () => {
      const length = 60 + Math.floor(rand() * 69);
      const network = subnetRange(
        6,
        BASE + (BigInt(Math.floor(rand() * 256)) << 64n) + BigInt(Math.floor(rand() * 1000)),
        length,
      ).first;
      return formatPrefix({ network, length });
    });
    const made = PrefixAllocator.fromSpec({
      prefixes,
      allocationPrefixLength: allocLen,
      excludedPrefixes: excluded,
    });
    if (!made.ok) throw new Error(made.error);
    const a = made.value;

    const range = (text: string) => {
      const p = parsePrefix(text);
      if (!p.ok) throw new Error(p.error);
      return subnetRange(6, p.value.network, p.value.length);
    };
    const overlaps = (x: { first: bigint; last: bigint }, y: { first: bigint; last: bigint }) =>
      x.first <= y.last && y.first <= x.last;
    const candidates: string[] = [];
    // fd00::/56 holds 2^(allocLen - 56) children; the model looks at each of them.
    for (let i = 0n; i < 1n << BigInt(allocLen - 56); i++) {
      const network = BASE + (i << BigInt(128 - allocLen));
      const child = formatPrefix({ network, length: allocLen });
      const r = range(child);
      if (!prefixes.some((p) => range(p).first <= r.first && range(p).last >= r.last)) continue;
      if (excluded.some((e) => overlaps(range(e), r))) continue;
      candidates.push(child);
    }
    expect(a.total).toBe(BigInt(candidates.length));
    const held = new Set<string>();
    const modelNext = () => candidates.find((c) => ![...held].some((h) => overlaps(range(h), range(c))));

    for (let step = 0; step < 300; step++) {
      const roll = rand();
      if (roll < 0.5) {
        const expected = modelNext();
        expect(a.reserveNext(), `step ${step}`).toBe(expected);
        if (expected) held.add(expected);
      } else if (roll < 0.8 && held.size > 0) {
        const victim = pick([...held]);
        held.delete(victim);
        a.release(victim);
      } else {
        // An IPAddress made by hand: a candidate, or a prefix of another length somewhere near.
        const length = pick([allocLen, allocLen, 60, 63, 64, 120, 128]);
        const network = subnetRange(6, BASE + (BigInt(Math.floor(rand() * 256)) << 64n), length).first;
        const text = formatPrefix({ network, length });
        if (held.has(text)) continue;
        // Never two holders of overlapping prefixes here: the model has no multiset.
        if ([...held].some((h) => overlaps(range(h), range(text)))) continue;
        held.add(text);
        a.reserve(text);
      }
      const inRange = [...held].filter((h) => candidates.includes(h)).length;
      expect(a.used, `step ${step}`).toBe(BigInt(inRange));
    }
  });
});
