/**
 * The four strategies through PoolAllocator: each one's order, RoundRobin's position as text, and
 * Random's uniformity (with a seeded source, so the statistics cannot flake).
 */
import { describe, expect, it } from 'vitest';
import type { PoolSpecInput } from '../ip/index.js';
import { type AllocatorOptions, PoolAllocator } from './allocator.js';
import { seededRandom } from './random.js';
import { createStrategy, isStrategyName, STRATEGY_NAMES, type StrategyName } from './strategy.js';

function pool(spec: PoolSpecInput, options: AllocatorOptions): PoolAllocator {
  const created = PoolAllocator.fromSpec(spec, options);
  if (!created.ok) throw new Error(created.error);
  return created.value;
}

function drain(allocator: PoolAllocator): string[] {
  const out: string[] = [];
  for (let address = allocator.reserveNext(); address !== undefined; address = allocator.reserveNext()) {
    out.push(address);
  }
  return out;
}

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => `10.0.0.${from + i}`);

/** Pearson's statistic of counts against equal expectations, and a bound a fair draw stays under. */
function chiSquare(counts: readonly number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  const expected = total / counts.length;
  return counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
}
const chiSquareLimit = (df: number) => df + 6 * Math.sqrt(2 * df);

describe('strategy names', () => {
  it('are spelt as the CRD field spells them, Lowest first as the default', () => {
    expect(STRATEGY_NAMES).toEqual(['Lowest', 'Highest', 'Random', 'RoundRobin']);
    expect(STRATEGY_NAMES.every(isStrategyName)).toBe(true);
    expect(['lowest', 'random', '', undefined, 3].some(isStrategyName)).toBe(false);
    expect(pool({ addresses: ['10.0.0.1'], prefix: 24 }, {}).strategy).toBe('Lowest');
    expect(() => createStrategy('Fastest' as StrategyName)).toThrow(/Fastest/);
  });
});

describe('Highest', () => {
  it('hands out the highest free address first, skipping gateway, excluded and broadcast', () => {
    const allocator = pool(
      {
        addresses: ['10.0.0.0/28'],
        prefix: 28,
        gateway: '10.0.0.14',
        excludedAddresses: ['10.0.0.10-10.0.0.12'],
      },
      { strategy: 'Highest' },
    );
    expect(drain(allocator)).toEqual(['10.0.0.13', ...range(1, 9).reverse()]);
  });

  it('reuses the highest freed address first', () => {
    const allocator = pool({ addresses: ['10.0.0.10-10.0.0.20'], prefix: 24 }, { strategy: 'Highest' });
    drain(allocator);
    allocator.release('10.0.0.12');
    allocator.release('10.0.0.15');
    expect(drain(allocator)).toEqual(['10.0.0.15', '10.0.0.12']);
  });

  it('starts at the top of an IPv6 /64 and of the whole IPv6 space', () => {
    const v6 = pool({ addresses: ['fd00::/64'], prefix: 64 }, { strategy: 'Highest' });
    expect([v6.reserveNext(), v6.reserveNext()]).toEqual([
      'fd00::ffff:ffff:ffff:ffff',
      'fd00::ffff:ffff:ffff:fffe',
    ]);
    const all = pool({ addresses: ['::/0'], prefix: 0 }, { strategy: 'Highest' });
    expect(all.reserve('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')).toBe('reserved');
    expect(all.reserveNext()).toBe('ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe');
  });
});

describe('RoundRobin', () => {
  it('continues after the address handed out last, so a released address comes back last', () => {
    const allocator = pool({ addresses: ['10.0.0.10-10.0.0.20'], prefix: 24 }, { strategy: 'RoundRobin' });
    expect([1, 2, 3, 4, 5].map(() => allocator.reserveNext())).toEqual(range(10, 14));
    allocator.release('10.0.0.12');
    expect(allocator.lastAllocated).toBe('10.0.0.14');
    expect(drain(allocator)).toEqual([...range(15, 20), '10.0.0.12']);
    expect(allocator.lastAllocated).toBe('10.0.0.12');
    allocator.release('10.0.0.11');
    allocator.release('10.0.0.19');
    expect(drain(allocator)).toEqual(['10.0.0.19', '10.0.0.11']);
  });

  it('restores its position from text, also one that is no longer allocatable', () => {
    const spec = {
      addresses: ['10.0.0.10-10.0.0.30'],
      prefix: 24,
      excludedAddresses: ['10.0.0.20-10.0.0.22'],
    };
    const allocator = pool(spec, { strategy: 'RoundRobin' });
    expect(allocator.lastAllocated).toBeUndefined();
    allocator.restoreLastAllocated('10.0.0.14');
    expect(allocator.reserveNext()).toBe('10.0.0.15');
    allocator.restoreLastAllocated('10.0.0.21'); // excluded: continue after .19, the nearest below
    expect(allocator.reserveNext()).toBe('10.0.0.23');
    allocator.restoreLastAllocated('10.0.0.200'); // above the pool: after its last address, so wrap
    expect(allocator.reserveNext()).toBe('10.0.0.10');
    for (const start of ['10.0.0.1', 'not an address', 'fd00::1', undefined]) {
      allocator.restoreLastAllocated(start);
      // From the start: .10 is held since the wrap above, so .11.
      expect(allocator.reserveNext(), String(start)).toBe('10.0.0.11');
      expect(allocator.release('10.0.0.11')).toBe(true);
    }
    allocator.restoreLastAllocated(undefined);
    expect(allocator.reserveNext()).toBe('10.0.0.11');
  });

  it('keeps its position across a rebuild and a reshape', () => {
    const allocator = pool({ addresses: ['10.0.0.10-10.0.0.20'], prefix: 24 }, { strategy: 'RoundRobin' });
    allocator.restoreLastAllocated('10.0.0.15');
    expect(allocator.reserveNext()).toBe('10.0.0.16');
    allocator.rebuild(['10.0.0.17']);
    expect(allocator.reserveNext()).toBe('10.0.0.18');
    expect(
      allocator.reshape({ addresses: ['10.0.0.0-10.0.0.17', '10.0.0.19-10.0.0.40'], prefix: 24 }).ok,
    ).toBe(true);
    expect(allocator.lastAllocated).toBe('10.0.0.17'); // .18 left the pool: the nearest below
    expect(allocator.reserveNext()).toBe('10.0.0.19');
  });

  it('wraps around at the end of an IPv6 /64', () => {
    const allocator = pool({ addresses: ['fd00::/64'], prefix: 64 }, { strategy: 'RoundRobin' });
    allocator.restoreLastAllocated('fd00::ffff:ffff:ffff:fffe');
    expect([allocator.reserveNext(), allocator.reserveNext()]).toEqual([
      'fd00::ffff:ffff:ffff:ffff',
      'fd00::1',
    ]);
  });

  it('is the only strategy with a position', () => {
    for (const strategy of ['Lowest', 'Highest', 'Random'] as const) {
      const allocator = pool({ addresses: ['10.0.0.10-10.0.0.20'], prefix: 24 }, { strategy });
      allocator.restoreLastAllocated('10.0.0.15');
      allocator.reserveNext();
      expect(allocator.lastAllocated).toBeUndefined();
    }
  });
});

describe('Random', () => {
  it('hands out every address exactly once, then nothing', () => {
    for (const spec of [
      { addresses: ['10.0.0.0/30'], prefix: 30 },
      { addresses: ['10.0.0.0/22', '10.0.8.0-10.0.8.9'], prefix: 20, gateway: '10.0.0.1' },
    ]) {
      const allocator = pool(spec, { strategy: 'Random', random: seededRandom(1) });
      const total = Number(allocator.total);
      const handed = drain(allocator);
      expect(handed).toHaveLength(total);
      expect(new Set(handed).size).toBe(total);
      expect(handed.every((a) => allocator.isAllocatable(a))).toBe(true);
      expect(handed).not.toEqual([...handed].sort());
    }
  });

  it('picks the same sequence from the same seed', () => {
    const picks = (seed: number) => {
      const allocator = pool(
        { addresses: ['10.0.0.0/24'], prefix: 24 },
        { strategy: 'Random', random: seededRandom(seed) },
      );
      return Array.from({ length: 20 }, () => allocator.reserveNext());
    };
    expect(picks(7)).toEqual(picks(7));
    expect(picks(7)).not.toEqual(picks(8));
  });

  it('hits every free address equally often, also those right after a long used run', () => {
    // 62 addresses; .1–.40 used (one long run) and every fourth one above: a "random start, then
    // the next free one" would hand out .41 about 41 times as often as the others.
    const allocator = pool(
      { addresses: ['10.0.0.0/26'], prefix: 26 },
      { strategy: 'Random', random: seededRandom(3) },
    );
    for (let i = 1; i <= 40; i++) allocator.reserve(`10.0.0.${i}`);
    for (let i = 44; i <= 62; i += 4) allocator.reserve(`10.0.0.${i}`);
    const free = range(1, 62).filter((a) => !allocator.isReserved(a));
    const counts = new Map(free.map((a) => [a, 0]));
    const picks = 1_000 * free.length;
    for (let i = 0; i < picks; i++) {
      const address = allocator.reserveNext()!;
      counts.set(address, (counts.get(address) ?? Number.NaN) + 1);
      allocator.release(address); // the same state for every pick
    }
    const values = [...counts.values()];
    expect(values).toHaveLength(free.length);
    // Each within 5 standard deviations (√(1000·(1 − 1/n)) ≈ 31) of 1000, and the whole fair.
    for (const [address, count] of counts) expect(Math.abs(count - 1_000), address).toBeLessThan(160);
    expect(chiSquare(values)).toBeLessThan(chiSquareLimit(free.length - 1));
  });

  it('spreads picks evenly across an IPv6 /64 and across the whole IPv6 space', () => {
    for (const [spec, bucketOf] of [
      [{ addresses: ['fd00::/64'], prefix: 64 }, (v: bigint) => Number((v >> 61n) & 7n)],
      [{ addresses: ['::/0'], prefix: 0 }, (v: bigint) => Number(v >> 125n)],
    ] as const) {
      const allocator = pool(spec, { strategy: 'Random', random: seededRandom(5) });
      const buckets = new Array<number>(8).fill(0);
      const seen = new Set<string>();
      for (let i = 0; i < 4_000; i++) {
        const ip = allocator.reserveNextIP()!;
        seen.add(String(ip.value));
        buckets[bucketOf(ip.value)]!++;
      }
      expect(seen.size).toBe(4_000);
      expect(chiSquare(buckets)).toBeLessThan(chiSquareLimit(7));
    }
  });
});

describe('changing the strategy of a pool', () => {
  it('keeps every allocation: a new allocator with the held addresses reserved picks only free ones', () => {
    const spec = { addresses: ['10.0.0.10-10.0.0.29'], prefix: 24 };
    const held = ['10.0.0.10', '10.0.0.11', '10.0.0.15', '10.0.0.28', '10.0.0.29'];
    const expectedFirst: Record<StrategyName, string | undefined> = {
      Lowest: '10.0.0.12',
      Highest: '10.0.0.27',
      RoundRobin: '10.0.0.12',
      Random: undefined,
    };
    for (const strategy of STRATEGY_NAMES) {
      const allocator = pool(spec, { strategy, random: seededRandom(2) });
      for (const address of held) expect(allocator.reserve(address)).toBe('reserved');
      const handed = drain(allocator);
      if (expectedFirst[strategy]) expect(handed[0], strategy).toBe(expectedFirst[strategy]);
      expect(
        handed.some((a) => held.includes(a)),
        strategy,
      ).toBe(false);
      expect(new Set(handed).size, strategy).toBe(15);
    }
  });
});
