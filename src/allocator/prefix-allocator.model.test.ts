/**
 * The prefix allocator against a naive model of the Go provider's search: the lowest
 * `/allocationPrefixLength` child inside the prefixes that overlaps no excluded entry and no held
 * prefix (of any length) — and, for the other strategies, the highest such child, the next one
 * after the child handed out last (RoundRobin), or any of them (Random). Random pools and random
 * reserve / release / reserveNext sequences, with holds made by hand that nest in each other,
 * cover children held for themselves, lie partly or wholly outside the pool, or fall in an
 * excluded gap.
 */
import { describe, expect, it } from 'vitest';
import { formatPrefix, parsePrefix, type Range, subnetRange } from '../ip/index.js';
import { PrefixAllocator } from './prefix-allocator.js';
import { seededRandom } from './random.js';
import { STRATEGY_NAMES } from './strategy.js';

function prng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const overlaps = (x: Range, y: Range) => x.first <= y.last && y.first <= x.last;

function rangeOf(text: string): Range {
  const p = parsePrefix(text);
  if (!p.ok) throw new Error(p.error);
  return subnetRange(6, p.value.network, p.value.length);
}

describe.each(STRATEGY_NAMES)('the prefix allocator (%s), against a model of the Go search', (strategy) => {
  it.each(Array.from({ length: 40 }, (_, i) => i + 1))('agrees on seed %i', (seed) => {
    const rand = prng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
    const allocLen = pick([62, 63, 64, 126, 127, 128]);
    // Everything happens inside one block of at most 256 children (fd00::/56 for /64s, fd00::/120
    // for /128s), so that the model can look at each child.
    const blockLen = allocLen <= 64 ? 56 : 120;
    const block = 0xfd00n << 112n;
    const blockBits = BigInt(128 - blockLen);
    const somewhere = (length: number) => {
      // The top 8 bits pick one of the 256 children's worth of space, the rest lands anywhere in it.
      const low = BigInt(Math.floor(rand() * 2 ** 30)) % (1n << (blockBits - 8n));
      const offset = (BigInt(Math.floor(rand() * 256)) << (blockBits - 8n)) + low;
      return formatPrefix({ network: subnetRange(6, block + offset, length).first, length });
    };
    const prefixes = Array.from({ length: 1 + Math.floor(rand() * 3) }, () =>
      somewhere(blockLen + 2 + Math.floor(rand() * (allocLen - blockLen - 1))),
    );
    const excluded = Array.from({ length: Math.floor(rand() * 3) }, () =>
      somewhere(blockLen + 4 + Math.floor(rand() * (128 - blockLen - 3))),
    );
    const made = PrefixAllocator.fromSpec(
      { prefixes, allocationPrefixLength: allocLen, excludedPrefixes: excluded },
      { strategy, random: seededRandom(seed) },
    );
    if (!made.ok) throw new Error(made.error);
    const a = made.value;

    const candidates: { text: string; range: Range }[] = [];
    for (let i = 0n; i < 1n << BigInt(allocLen - blockLen); i++) {
      const text = formatPrefix({ network: block + (i << BigInt(128 - allocLen)), length: allocLen });
      const r = rangeOf(text);
      if (!prefixes.some((p) => rangeOf(p).first <= r.first && rangeOf(p).last >= r.last)) continue;
      if (excluded.some((e) => overlaps(rangeOf(e), r))) continue;
      candidates.push({ text, range: r });
    }
    expect(a.total).toBe(BigInt(candidates.length));
    const isCandidate = (text: string) => candidates.some((c) => c.text === text);
    // Held prefixes, of any length, overlapping each other or not; each text at most once, as the
    // pool state reserves an address only for its first holder.
    const held = new Map<string, Range>();
    let cursor: bigint | undefined; // the network handed out last (RoundRobin)
    let lastPicked: string | undefined;
    const open = () => candidates.filter((c) => ![...held.values()].some((h) => overlaps(h, c.range)));

    for (let step = 0; step < 400; step++) {
      const roll = rand();
      if (roll < 0.45) {
        const free = open();
        const picked = a.reserveNext();
        if (strategy === 'Random') {
          expect(
            picked === undefined ? free.length === 0 : free.some((c) => c.text === picked),
            `step ${step}`,
          ).toBe(true);
        } else {
          const expected =
            strategy === 'Lowest'
              ? free[0]
              : strategy === 'Highest'
                ? free[free.length - 1]
                : (free.find((c) => cursor !== undefined && c.range.first > cursor) ?? free[0]);
          expect(picked, `step ${step}`).toBe(expected?.text);
        }
        if (picked) {
          held.set(picked, rangeOf(picked));
          cursor = rangeOf(picked).first;
        }
        if (picked) lastPicked = picked;
        expect(a.lastAllocated).toBe(strategy === 'RoundRobin' ? lastPicked : undefined);
      } else if (roll < 0.75 && held.size > 0) {
        const victim = pick([...held.keys()]);
        held.delete(victim);
        a.release(victim);
      } else {
        // An IPAddress made by hand: a candidate, a prefix of another length in or around the
        // block (covering the whole pool, part of it, or one child), or one far outside.
        const length = pick([allocLen, allocLen, blockLen, blockLen + 1, blockLen + 3, allocLen - 1, 128]);
        const text = rand() < 0.05 ? `fd01::/${length}` : somewhere(length);
        const outcome = held.has(text) ? 'taken' : isCandidate(text) ? 'reserved' : 'outside';
        expect(a.reserve(text), `step ${step} ${text}`).toBe(outcome);
        held.set(text, rangeOf(text));
      }
      const inRange = [...held.keys()].filter(isCandidate).length;
      expect(a.used, `step ${step}`).toBe(BigInt(inRange));
      const probe = pick(candidates)?.text;
      if (probe) expect(a.isReserved(probe), `step ${step} ${probe}`).toBe(held.has(probe));
    }
  });
});
