/**
 * Strategies choose which free index a new claim gets. The names are the pool field
 * `spec.allocationStrategy` as the CRD spells them:
 * - `Lowest` (the default): the lowest free address, the Go provider's order;
 * - `Highest`: the highest free address, its mirror;
 * - `Random`: uniform over the free addresses (not "a random start, then the next free one", which
 *   favours addresses after long used runs), by rank and select on the bitmap's free counts;
 * - `RoundRobin`: the next free address after the one handed out last, wrapping at the end, so a
 *   just-released address comes back last. Its position can be read and restored from outside (the
 *   controller keeps it in the pool's status across restarts).
 *
 * A strategy is told about every reservation and release, also those it did not pick, because an
 * allocator is rebuilt by re-reserving every held address (after a restart, or when a pool's spec
 * or strategy changes) and must then pick correctly at once. Whatever it keeps, `pick` only ever
 * returns an index the free set says is free: that is the never-twice guarantee.
 */
import { cryptoRandom, type RandomSource, randomBelow, randomBigBelow } from './random.js';

export type StrategyName = 'Lowest' | 'Highest' | 'Random' | 'RoundRobin';

export const STRATEGY_NAMES: readonly StrategyName[] = ['Lowest', 'Highest', 'Random', 'RoundRobin'];

/** The strategy of a pool whose spec names none (the Go provider's only behaviour). */
export const DEFAULT_STRATEGY: StrategyName = 'Lowest';

/** Whether a value (the CRD field, as read) names a strategy. */
export function isStrategyName(value: unknown): value is StrategyName {
  return typeof value === 'string' && (STRATEGY_NAMES as readonly string[]).includes(value);
}

/** The number face of a free set whose indices are all safe integers; -1 stands for "none". */
export interface NarrowFreeIndices {
  readonly free: number;
  nextFree(from: number): number;
  prevFree(from: number): number;
  selectFree(rank: number): number;
}

/**
 * The indices a strategy may pick from: an {@link IndexBitmap}'s free indices, or for a prefix pool
 * its free children that no hold of another length covers. `free` and `selectFree` are needed by
 * strategies that are `ranked` only, and the allocator then builds the set to keep free counts.
 */
export interface FreeIndices {
  readonly size: bigint;
  /** The same set in numbers, when it has such a face (every index below 2^53): a fast path. */
  readonly narrow?: NarrowFreeIndices | undefined;
  /** Number of free indices. */
  readonly free: bigint;
  /** Lowest free index at or after `from`, or undefined. */
  nextFree(from: bigint): bigint | undefined;
  /** Highest free index at or before `from`, or undefined. */
  prevFree(from: bigint): bigint | undefined;
  /** The `rank`-th (0-based) free index, for 0 <= rank < free. */
  selectFree(rank: bigint): bigint;
}

export interface AllocationStrategy {
  readonly name: StrategyName;
  /** Whether `pick` needs `free` and `selectFree`: the allocator then keeps free counts. */
  readonly ranked: boolean;
  /**
   * The RoundRobin position: the index handed out last, undefined to start from the lowest.
   * Present only on strategies that continue from a position.
   */
  lastAllocated?: bigint | undefined;
  /** A free index, or undefined when none is free. Must not change the set. */
  pick(set: FreeIndices): bigint | undefined;
  /** An index was reserved, by `pick` or by a specific reservation. */
  reserved(index: bigint): void;
  /** Indices `first..last` (one index when `last` is omitted) may have become free. */
  released(first: bigint, last?: bigint): void;
  /** The set was rebuilt or re-shaped: forget everything learnt, the position included. */
  reset(): void;
}

export interface StrategyOptions {
  /** Where Random takes its randomness; Web Crypto by default. Tests pass a seeded generator. */
  readonly random?: RandomSource;
}

/** The lowest free index, i.e. the lowest free address across the sorted, merged ranges. */
export class LowestStrategy implements AllocationStrategy {
  readonly name = 'Lowest';
  readonly ranked = false;
  // Every index below the hint is taken, so a search starts there: filling a pool stays O(1) per
  // allocation instead of rescanning from 0.
  #hint = 0n;

  pick(set: FreeIndices): bigint | undefined {
    const narrow = set.narrow;
    if (narrow !== undefined) {
      const index = narrow.nextFree(Number(this.#hint));
      const found = index < 0 ? undefined : BigInt(index);
      this.#hint = found ?? set.size;
      return found;
    }
    const found = set.nextFree(this.#hint);
    this.#hint = found ?? set.size;
    return found;
  }

  reserved(index: bigint): void {
    if (index === this.#hint) this.#hint = index + 1n;
  }

  released(first: bigint): void {
    if (first < this.#hint) this.#hint = first;
  }

  reset(): void {
    this.#hint = 0n;
  }
}

/** The highest free index: Lowest's mirror, with the same hint from the other end. */
export class HighestStrategy implements AllocationStrategy {
  readonly name = 'Highest';
  readonly ranked = false;
  // Every index above the hint is taken; undefined stands for the top of the space, which only
  // the set knows.
  #hint: bigint | undefined;

  pick(set: FreeIndices): bigint | undefined {
    const from = this.#hint ?? set.size - 1n;
    const narrow = set.narrow;
    let found: bigint | undefined;
    if (narrow !== undefined) {
      const index = narrow.prevFree(Number(from));
      found = index < 0 ? undefined : BigInt(index);
    } else found = set.prevFree(from);
    this.#hint = found ?? -1n;
    return found;
  }

  reserved(index: bigint): void {
    if (index === this.#hint) this.#hint = index - 1n;
  }

  released(first: bigint, last = first): void {
    if (this.#hint !== undefined && last > this.#hint) this.#hint = last;
  }

  reset(): void {
    this.#hint = undefined;
  }
}

/**
 * Uniform over the free indices: a number k drawn uniformly below the free count, then the k-th
 * free index (select on the set's free counts, O(log n)). Every free index has probability
 * 1/free, however the used ones are laid out, and the cost does not grow as the pool fills.
 */
export class RandomStrategy implements AllocationStrategy {
  readonly name = 'Random';
  readonly ranked = true;
  readonly #random: RandomSource;

  constructor(random: RandomSource = cryptoRandom()) {
    this.#random = random;
  }

  pick(set: FreeIndices): bigint | undefined {
    const narrow = set.narrow;
    if (narrow !== undefined) {
      const free = narrow.free;
      return free === 0 ? undefined : BigInt(narrow.selectFree(randomBelow(free, this.#random)));
    }
    const free = set.free;
    return free === 0n ? undefined : set.selectFree(randomBigBelow(free, this.#random));
  }

  reserved(): void {}

  released(): void {}

  reset(): void {}
}

/** The next free index after the one handed out last, wrapping around to the lowest. */
export class RoundRobinStrategy implements AllocationStrategy {
  readonly name = 'RoundRobin';
  readonly ranked = false;
  /** The index handed out last (by `pick` only: specific reservations do not move it). */
  lastAllocated: bigint | undefined = undefined;

  pick(set: FreeIndices): bigint | undefined {
    const from = this.lastAllocated === undefined ? 0n : this.lastAllocated + 1n;
    const narrow = set.narrow;
    let found: bigint | undefined;
    if (narrow !== undefined) {
      let index = narrow.nextFree(Number(from));
      // Nothing free after the position: wrap, which reaches the position itself last.
      if (index < 0 && from > 0n) index = narrow.nextFree(0);
      found = index < 0 ? undefined : BigInt(index);
    } else found = set.nextFree(from) ?? (from > 0n ? set.nextFree(0n) : undefined);
    if (found !== undefined) this.lastAllocated = found;
    return found;
  }

  reserved(): void {}

  released(): void {}

  reset(): void {
    this.lastAllocated = undefined;
  }
}

export function createStrategy(name: StrategyName, options: StrategyOptions = {}): AllocationStrategy {
  switch (name) {
    case 'Lowest':
      return new LowestStrategy();
    case 'Highest':
      return new HighestStrategy();
    case 'Random':
      return new RandomStrategy(options.random);
    case 'RoundRobin':
      return new RoundRobinStrategy();
  }
  // Unreachable for typed callers; a name read from a pool unchecked must not pass silently.
  throw new RangeError(`unknown allocation strategy ${String(name)}`);
}
