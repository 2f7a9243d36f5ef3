/**
 * Allocator benchmark: one JSON object per line, one per case and strategy (`npm run bench:allocator`).
 * Targets from issue 4: ≥ 1 M allocations/s on a /16 and flat as it fills (lastToFirstPctCost ≈ 1),
 * ≤ 64 MB heap for 1 M allocations in an IPv6 /64, rebuild of 100 k addresses ≤ 2 s. From the
 * allocation-strategy issue: every strategy ≥ 1 M allocations/s filling a /16 and churning at 90 %
 * full, and the last 1 % of a fill at most 2× the first 1 %. Random draws from its default source
 * (Web Crypto), as in production. Each timed case runs after an untimed warm-up, so the figures
 * are for optimised code.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { PoolAllocator, STRATEGY_NAMES, type StrategyName } from '../src/allocator/index.js';
import { formatIP, type PoolSpecInput } from '../src/ip/index.js';

// The npm script runs plain `tsx`; this exposes a garbage collector so heap figures are live data.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function print(record: Record<string, unknown>): void {
  console.log(JSON.stringify(record));
}

function allocator(spec: PoolSpecInput, strategy: StrategyName = 'Lowest'): PoolAllocator {
  const created = PoolAllocator.fromSpec(spec, { strategy });
  if (!created.ok) throw new Error(created.error);
  return created.value;
}

function heapMB(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

function round(value: number, digits = 3): number {
  return Number(value.toFixed(digits));
}

/**
 * Fills the whole pool with reserveNext, timing the first and the last 1% of allocations apart.
 * Small pools are filled several times (fresh each time) so the 1% slices are long enough to time.
 */
function fill(name: string, spec: PoolSpecInput, rounds: number, strategy: StrategyName = 'Lowest'): void {
  let allocations = 0;
  let elapsed = 0;
  let firstPct = 0;
  let lastPct = 0;
  for (let round = 0; round < rounds; round++) {
    const pool = allocator(spec, strategy);
    const total = Number(pool.total);
    const onePct = Math.max(1, Math.floor(total / 100));
    const start = performance.now();
    let mark = start;
    for (let i = 0; i < total; i++) {
      if (i === onePct) firstPct += performance.now() - mark;
      if (i === total - onePct) mark = performance.now();
      if (pool.reserveNext() === undefined) throw new Error(`${name}: pool full after ${i}`);
    }
    const end = performance.now();
    lastPct += end - mark;
    elapsed += end - start;
    allocations += total;
    if (pool.reserveNext() !== undefined) throw new Error(`${name}: pool not full`);
  }
  print({
    case: name,
    strategy,
    allocsPerSec: Math.round(allocations / (elapsed / 1000)),
    lastToFirstPctCost: round(lastPct / firstPct),
    allocations,
    rounds,
    seconds: round(elapsed / 1000),
  });
}

/** Deterministic pseudo-random numbers, so every run does the same work. */
function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

/**
 * At 90% full: release a random reserved address and reserve the next one, repeatedly. An
 * operation is a release or a reservation; allocsPerSec counts the pairs (the time of both).
 */
function churn(strategy: StrategyName): void {
  const pool = allocator({ addresses: ['10.0.0.0/16'], prefix: 16 }, strategy);
  const target = Math.floor(Number(pool.total) * 0.9);
  const held: string[] = [];
  for (let i = 0; i < target; i++) held.push(pool.reserveNext()!);
  const random = xorshift(42);
  const operations = 2_000_000;
  const start = performance.now();
  for (let i = 0; i < operations; i += 2) {
    const slot = Math.floor(random() * held.length);
    pool.release(held[slot]!);
    held[slot] = pool.reserveNext()!;
  }
  const seconds = (performance.now() - start) / 1000;
  print({
    case: 'churn-v4-16-90pct',
    strategy,
    allocsPerSec: Math.round(operations / 2 / seconds),
    opsPerSec: Math.round(operations / seconds),
    operations,
  });
}

/** 1 M allocations in an IPv6 /64 (the heap they take). */
function v6(strategy: StrategyName): void {
  const count = 1_000_000;
  const before = heapMB();
  const start = performance.now();
  const pool = allocator({ addresses: ['fd00::/64'], prefix: 64 }, strategy);
  for (let i = 0; i < count; i++) pool.reserveNext();
  const seconds = (performance.now() - start) / 1000;
  const heap = heapMB() - before;
  print({
    case: 'v6-64-1M',
    strategy,
    seconds: round(seconds),
    heapMB: round(heap, 2),
    allocsPerSec: Math.round(count / seconds),
    bitmapMB: round(pool.bitmapBytes / 2 ** 20, 2),
  });
}

/** 1 M reservations scattered across an IPv6 /64. */
function v6Scattered(): void {
  const count = 1_000_000;
  const scatteredBefore = heapMB();
  const random = xorshift(7);
  const scattered = allocator({ addresses: ['fd00::/64'], prefix: 64 });
  const base = 0xfd00n << 112n;
  const scatterStart = performance.now();
  for (let i = 0; i < count; i++) {
    const offset = (BigInt(Math.floor(random() * 2 ** 32)) << 32n) | BigInt(Math.floor(random() * 2 ** 32));
    scattered.reserve({ family: 6, value: base + offset });
  }
  const scatterSeconds = (performance.now() - scatterStart) / 1000;
  print({
    case: 'v6-64-1M-scattered',
    seconds: round(scatterSeconds),
    heapMB: round(heapMB() - scatteredBefore, 1),
    bitmapMB: round(scattered.bitmapBytes / 2 ** 20, 2),
    used: Number(scattered.used),
  });
}

/** Rebuild from 100 k address strings (a /15 pool, addresses spread over it, as a List returns them). */
function rebuild(): void {
  const pool = allocator({ addresses: ['10.0.0.0/15'], prefix: 15 });
  const random = xorshift(99);
  const addresses = new Set<string>();
  while (addresses.size < 100_000) {
    addresses.add(formatIP({ family: 4, value: 0x0a000001n + BigInt(Math.floor(random() * 131_000)) }));
  }
  const list = [...addresses];
  const start = performance.now();
  const report = pool.rebuild(list);
  const seconds = (performance.now() - start) / 1000;
  if (report.reserved !== 100_000) throw new Error(`rebuild reserved ${report.reserved}`);
  print({ case: 'rebuild-100k', seconds: round(seconds), addresses: list.length });
}

function warmUp(strategy: StrategyName): void {
  for (let round = 0; round < 3; round++) {
    const pool = allocator({ addresses: ['10.0.0.0/16'], prefix: 16 }, strategy);
    while (pool.reserveNext() !== undefined);
    for (let i = 0; i < 60_000; i += 3) pool.release(formatIP({ family: 4, value: 0x0a000000n + BigInt(i) }));
    while (pool.reserveNext() !== undefined);
    pool.rebuild(['10.0.0.1', '10.0.0.2', '10.1.0.0']);
  }
}

for (const strategy of STRATEGY_NAMES) {
  warmUp(strategy);
  fill('fill-v4-16', { addresses: ['10.0.0.0/16'], prefix: 16 }, 40, strategy);
  churn(strategy);
}
fill('fill-v4-8', { addresses: ['10.0.0.0/8'], prefix: 8 }, 1);
for (const strategy of STRATEGY_NAMES) v6(strategy);
v6Scattered();
rebuild();
