/**
 * Randomized test: thousands of operations on the allocator and on a naive model (arrays and
 * sets of address strings, the allocatable set enumerated address by address), comparing every
 * answer, for every strategy. The model computes the allocatable set on its own, so it also checks
 * poolAllocatableSet, and it knows each strategy's order; for Random, whose picks it cannot
 * foresee, it checks that every pick was free and allocatable, and that none is missed when some
 * address is free.
 */
import { describe, expect, it } from 'vitest';
import { formatIP, type IPFamily, type PoolSpecInput, parseEntry, parseIP } from '../ip/index.js';
import { PoolAllocator } from './allocator.js';
import { seededRandom } from './random.js';
import { STRATEGY_NAMES, type StrategyName } from './strategy.js';

/**
 * What a strategy hands out next from `free` (ascending), or 'any free' for Random. RoundRobin
 * continues after `cursor` (the value handed out last, or the nearest allocatable one below it).
 */
function expectedNext<T extends number | bigint>(
  strategy: StrategyName,
  free: readonly T[],
  cursor: T | undefined,
): T | undefined | 'any free' {
  if (free.length === 0) return undefined;
  switch (strategy) {
    case 'Lowest':
      return free[0];
    case 'Highest':
      return free[free.length - 1];
    case 'Random':
      return 'any free';
    case 'RoundRobin':
      return (cursor === undefined ? undefined : free.find((v) => v > cursor)) ?? free[0];
  }
}

function xorshift(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}

/** The allocatable set, address by address, in ascending order. */
function naiveAllocatable(spec: PoolSpecInput): string[] {
  const expand = (texts: readonly string[]) => {
    const out = new Map<string, { family: IPFamily; value: bigint }>();
    for (const text of texts) {
      const entry = parseEntry(text);
      if (!entry.ok) throw new Error(entry.error);
      for (let v = entry.value.first; v <= entry.value.last; v++) {
        out.set(`${entry.value.family}/${v}`, { family: entry.value.family, value: v });
      }
    }
    return out;
  };
  const pool = expand(spec.addresses);
  const all = [...pool.values()];
  const family = all[0]!.family;
  const bits = family === 4 ? 32n : 128n;
  for (const key of expand(spec.excludedAddresses ?? []).keys()) pool.delete(key);
  if (!spec.allocateReservedIPAddresses && spec.prefix >= 0 && BigInt(spec.prefix) <= bits) {
    const lowest = all.reduce((a, b) => (b.value < a.value ? b : a)).value;
    const size = 1n << (bits - BigInt(spec.prefix));
    const network = lowest - (lowest % size);
    pool.delete(`${family}/${network}`);
    if (family === 4) pool.delete(`${family}/${network + size - 1n}`);
  }
  if (spec.gateway) {
    const gateway = parseIP(spec.gateway);
    if (gateway.ok) pool.delete(`${gateway.value.family}/${gateway.value.value}`);
  }
  return [...pool.values()].sort((a, b) => (a.value < b.value ? -1 : 1)).map(formatIP);
}

const addressValue = (address: string) =>
  (parseIP(address) as { ok: true; value: { value: bigint } }).value.value;

class Model {
  allocatable: string[];
  allocatableSet: Set<string>;
  reserved = new Set<string>();
  /** RoundRobin's position, as an address value. */
  cursor: bigint | undefined;

  constructor(
    spec: PoolSpecInput,
    readonly strategy: StrategyName,
  ) {
    this.allocatable = naiveAllocatable(spec);
    this.allocatableSet = new Set(this.allocatable);
  }

  reshape(spec: PoolSpecInput): void {
    this.allocatable = naiveAllocatable(spec);
    this.allocatableSet = new Set(this.allocatable);
    // A position no longer allocatable becomes the nearest allocatable address below it.
    const cursor = this.cursor;
    if (cursor !== undefined) this.cursor = this.allocatable.map(addressValue).findLast((v) => v <= cursor);
  }

  /** Checks the allocator's pick against the strategy's order (or, for Random, that it was free). */
  reserveNext(picked: string | undefined): void {
    const free = this.allocatable.filter((a) => !this.reserved.has(a));
    const expected = expectedNext(this.strategy, free.map(addressValue), this.cursor);
    if (expected === 'any free') {
      expect(picked !== undefined && free.includes(picked), `${picked} free`).toBe(true);
    } else
      expect(picked).toBe(
        expected === undefined ? undefined : free[free.map(addressValue).indexOf(expected)],
      );
    if (picked === undefined) return;
    this.reserved.add(picked);
    if (this.strategy === 'RoundRobin') this.cursor = addressValue(picked);
  }

  reserve(text: string): string {
    const parsed = parseIP(text);
    if (!parsed.ok) return 'invalid';
    const address = formatIP(parsed.value);
    if (this.reserved.has(address)) return 'already-reserved';
    this.reserved.add(address);
    return this.allocatableSet.has(address) ? 'reserved' : 'out-of-range';
  }

  release(text: string): boolean {
    const parsed = parseIP(text);
    return parsed.ok && this.reserved.delete(formatIP(parsed.value));
  }

  isReserved(text: string): boolean {
    const parsed = parseIP(text);
    return parsed.ok && this.reserved.has(formatIP(parsed.value));
  }

  counts() {
    const inRange = [...this.reserved].filter((a) => this.allocatableSet.has(a)).length;
    return {
      total: BigInt(this.allocatable.length),
      used: BigInt(this.reserved.size),
      free: BigInt(this.allocatable.length - inRange),
      outOfRange: BigInt(this.reserved.size - inRange),
    };
  }
}

/** Random pool specs over a small space, so the model can enumerate them. */
function randomSpec(random: (n: number) => number, family: IPFamily): PoolSpecInput {
  const address = (offset: number) =>
    family === 4 ? `10.0.${offset >> 8}.${offset & 255}` : `fd00::${offset.toString(16)}`;
  const entry = () => {
    const start = random(600);
    switch (random(3)) {
      case 0:
        return address(start);
      case 1:
        return `${address(start)}-${address(start + random(40))}`;
      default: {
        const prefixLength = (family === 4 ? 32 : 128) - random(6);
        return `${address(start)}/${prefixLength}`;
      }
    }
  };
  const addresses = Array.from({ length: 1 + random(4) }, entry);
  const spec: PoolSpecInput = {
    addresses,
    prefix: (family === 4 ? 22 : 118) + random(12),
    gateway: random(2) === 0 ? address(random(600)) : undefined,
    excludedAddresses: Array.from({ length: random(3) }, entry),
    allocateReservedIPAddresses: random(4) === 0,
  };
  return spec;
}

function randomAddress(random: (n: number) => number, family: IPFamily): string {
  const offset = random(700);
  if (random(50) === 0) return random(2) === 0 ? 'not-an-ip' : family === 4 ? 'fd00::1' : '10.0.0.1';
  return family === 4 ? `10.0.${offset >> 8}.${offset & 255}` : `fd00::${offset.toString(16)}`;
}

function check(
  allocator: PoolAllocator,
  model: Model,
  random: (n: number) => number,
  family: IPFamily,
): void {
  expect(allocator.counts()).toEqual(model.counts());
  const probe = randomAddress(random, family);
  expect(allocator.isReserved(probe)).toBe(model.isReserved(probe));
}

describe.each(STRATEGY_NAMES)('PoolAllocator (%s) against a naive model', (strategy) => {
  for (const family of [4, 6] as const) {
    it(`gives the same answer as the model for every random operation (IPv${family})`, () => {
      for (let seed = 1; seed <= 12; seed++) {
        const random = xorshift(seed * 7919 + family);
        let spec = randomSpec(random, family);
        const created = PoolAllocator.fromSpec(spec, { strategy, random: seededRandom(seed) });
        if (!created.ok) throw new Error(created.error);
        const allocator = created.value;
        const model = new Model(spec, strategy);
        for (let step = 0; step < 400; step++) {
          const operation = random(100);
          if (operation < 40) {
            model.reserveNext(allocator.reserveNext());
          } else if (operation < 60) {
            const address = randomAddress(random, family);
            expect(allocator.reserve(address)).toBe(model.reserve(address));
          } else if (operation < 88) {
            const held = [...model.reserved];
            const address =
              held.length > 0 && random(4) !== 0 ? held[random(held.length)]! : randomAddress(random, family);
            expect(allocator.release(address)).toBe(model.release(address));
          } else if (operation < 94) {
            const list = Array.from({ length: random(30) }, () => randomAddress(random, family));
            const report = allocator.rebuild(list);
            model.reserved.clear();
            const duplicates: string[] = [];
            const outOfRange: string[] = [];
            for (const address of list) {
              const outcome = model.reserve(address);
              if (outcome === 'already-reserved') duplicates.push(address);
              if (outcome === 'out-of-range') outOfRange.push(address);
            }
            expect(report.duplicates).toEqual(duplicates);
            expect(report.outOfRange).toEqual(outOfRange);
            expect(report.invalid.map((i) => i.address)).toEqual(list.filter((a) => !parseIP(a).ok));
          } else {
            spec = randomSpec(random, family);
            const report = allocator.reshape(spec);
            model.reshape(spec);
            expect(report.ok && report.value.outOfRange.length).toBe(Number(model.counts().outOfRange));
          }
          check(allocator, model, random, family);
        }
        const inRange = model.allocatable.filter((a) => model.reserved.has(a));
        expect([...allocator.reservedAddresses()].slice(0, inRange.length)).toEqual(inRange);
      }
    });
  }
});

describe.each(STRATEGY_NAMES)(
  'PoolAllocator (%s) against a naive model, in a pool of several dense chunks',
  (strategy) => {
    it('gives the same answer as the model while bit-array chunks fill, empty and fill again', () => {
      const random = xorshift(2024);
      const spec: PoolSpecInput = {
        addresses: ['10.0.0.0/15', '10.8.0.0-10.8.0.99'],
        prefix: 12,
        gateway: '10.1.0.0',
        excludedAddresses: ['10.1.128.0/18', '10.0.255.250-10.1.0.5', '10.1.3.3'],
      };
      const created = PoolAllocator.fromSpec(spec, { strategy, random: seededRandom(2024) });
      if (!created.ok) throw new Error(created.error);
      const allocator = created.value;
      const toNumber = (address: string) =>
        address.split('.').reduce((value, octet) => value * 256 + Number(octet), 0);
      const toText = (value: number) => formatIP({ family: 4, value: BigInt(value) });
      const allocatable = naiveAllocatable(spec).map(toNumber);
      const allocatableSet = new Set(allocatable);
      const reserved = new Set<number>();
      let cursor: number | undefined;
      const freeValues = () => allocatable.filter((value) => !reserved.has(value));
      /** Checks a run of picks against the strategy's order over `free` (ascending), and takes them. */
      const checkRun = (picked: (string | undefined)[], free: number[]) => {
        const values = picked.map((a) => (a === undefined ? undefined : toNumber(a)));
        if (strategy === 'Random') {
          const freeSet = new Set(free);
          expect(values.every((v) => v !== undefined && freeSet.has(v))).toBe(true);
          expect(new Set(values).size).toBe(values.length);
        } else {
          let expected: number[];
          if (strategy === 'Lowest') expected = free.slice(0, picked.length);
          else if (strategy === 'Highest') expected = free.slice(-picked.length).reverse();
          else {
            const after = cursor === undefined ? 0 : free.findIndex((v) => v > cursor!);
            const rotated = after < 0 ? free : [...free.slice(after), ...free.slice(0, after)];
            expected = rotated.slice(0, picked.length);
          }
          // Long loops compare whole arrays once: an expect() per step would dominate the run time.
          expect(picked).toEqual(expected.map(toText));
        }
        for (const v of values) reserved.add(v!);
        if (values.length > 0) cursor = values[values.length - 1];
      };
      expect(allocator.total).toBe(BigInt(allocatable.length));

      checkRun(
        Array.from({ length: 90_000 }, () => allocator.reserveNext()),
        allocatable,
      );
      for (let step = 0; step < 1_500; step++) {
        const operation = random(10);
        if (operation < 2) {
          // One pick: found by a scan that stops early, as filtering 100k values each time is slow.
          const picked = allocator.reserveNext();
          const isFree = (value: number) => !reserved.has(value);
          if (strategy === 'Random') {
            const value = picked === undefined ? undefined : toNumber(picked);
            if (value === undefined) expect(allocatable.some(isFree)).toBe(false);
            else expect(allocatableSet.has(value) && isFree(value), picked).toBe(true);
          } else {
            let expected: number | undefined;
            if (strategy === 'Lowest') expected = allocatable.find(isFree);
            else if (strategy === 'Highest') expected = allocatable.findLast(isFree);
            else
              expected = allocatable.find((v) => v > (cursor ?? -1) && isFree(v)) ?? allocatable.find(isFree);
            expect(picked).toBe(expected === undefined ? undefined : toText(expected));
          }
          if (picked !== undefined) {
            reserved.add(toNumber(picked));
            cursor = toNumber(picked);
          }
        } else if (operation < 7) {
          const value = allocatable[random(100_000)]!;
          expect(allocator.release(toText(value))).toBe(reserved.delete(value));
        } else {
          const value = allocatable[random(allocatable.length)]!;
          const outcome = allocator.reserve(toText(value));
          expect(outcome).toBe(reserved.has(value) ? 'already-reserved' : 'reserved');
          reserved.add(value);
        }
      }
      expect(allocator.used).toBe(BigInt(reserved.size));

      // Empty most of the second chunk (its bit array turns back into an array), then fill the pool.
      const toRelease = allocatable.slice(65_536, 98_000);
      expect(toRelease.map((value) => allocator.release(toText(value)))).toEqual(
        toRelease.map((value) => reserved.delete(value)),
      );
      expect(allocator.free).toBe(BigInt(allocatable.length - reserved.size));
      const freeInOrder = freeValues();
      checkRun(
        freeInOrder.map(() => allocator.reserveNext()),
        freeInOrder,
      );
      expect(allocator.reserveNext()).toBeUndefined();
      expect(allocator.counts()).toEqual({
        total: allocator.total,
        used: allocator.total,
        free: 0n,
        outOfRange: 0n,
      });
      expect([...allocator.reservedAddresses()]).toEqual(allocatable.map(toText));
    });
  },
);
