/**
 * The allocator of a prefix pool: the IP pools' bitmap over the index space of the pool's candidate
 * children (src/ip/prefix.ts), and the IP pools' strategies over it — `Lowest` by default, the Go
 * provider's order. Prefixes are named by their text `network/length`, masked. Pure and
 * synchronous, like PoolAllocator: pick and reserve happen with no `await` in between, so one
 * prefix is never handed out twice.
 *
 * A reservation that is not a candidate (out of range: excluded since, outside the prefixes, or of
 * another length, made by hand) is kept as such. One of another length may still overlap candidate
 * children — a /56 in a /64 pool covers 256 of them, a /64 in a /128 pool 2^64 — and the Go
 * provider never hands those out: neither does this one, whatever the strategy. The covered
 * children are kept as one range per out-of-range reservation, never child by child; strategies
 * see only the free children no range covers (covered-ranges.ts, which also says how Random stays
 * uniform over them), and they are free again once the reservation is released.
 *
 * The bitmap holds candidate children reserved for themselves and nothing else, so `used` is its
 * count, and a child that is both reserved and covered is released by either hold independently.
 */
import {
  candidateIndex,
  formatChild,
  type IntervalSet,
  overlappedChildren,
  type PrefixCandidates,
  type PrefixSpecInput,
  parsePrefix,
  prefixCandidates,
  type Range,
  type Result,
} from '../ip/index.js';
import { IndexBitmap } from './bitmap.js';
import { CoveredRanges, firstIndexWhere, OpenChildren } from './covered-ranges.js';
import { IndexSpace } from './index-space.js';
import type { RandomSource } from './random.js';
import { type AllocationStrategy, createStrategy, DEFAULT_STRATEGY, type StrategyName } from './strategy.js';

export type PrefixReserveOutcome = 'reserved' | 'taken' | 'outside';

export interface PrefixAllocatorOptions {
  /** How a free child is chosen; `Lowest` (the default) is the Go provider's order. */
  readonly strategy?: StrategyName;
  /** Random's source, a uniform number in [0, 1) as Math.random; Web Crypto by default. */
  readonly random?: RandomSource;
}

export class PrefixAllocator {
  readonly candidates: PrefixCandidates;
  readonly #space: IndexSpace;
  /** Candidate children reserved by a hold of exactly that child (in range). */
  readonly #bitmap: IndexBitmap;
  /** Out-of-range reservations by text → the space indices of the candidates they cover, if any. */
  readonly #outside = new Map<string, Range | undefined>();
  readonly #covered: CoveredRanges;
  /** What the strategy picks from: free children outside every covered range. */
  readonly #open: OpenChildren;
  readonly #strategy: AllocationStrategy;

  constructor(candidates: PrefixCandidates, options: PrefixAllocatorOptions = {}) {
    this.candidates = candidates;
    this.#space = new IndexSpace(candidates.children);
    this.#strategy = createStrategy(options.strategy ?? DEFAULT_STRATEGY, { random: options.random });
    const ranked = this.#strategy.ranked;
    this.#bitmap = new IndexBitmap(this.#space.size, { ranked });
    this.#covered = new CoveredRanges(ranked ? this.#bitmap : undefined);
    this.#open = new OpenChildren(this.#bitmap, this.#covered);
  }

  static fromSpec(spec: PrefixSpecInput, options?: PrefixAllocatorOptions): Result<PrefixAllocator> {
    const c = prefixCandidates(spec);
    return c.ok ? { ok: true, value: new PrefixAllocator(c.value, options) } : c;
  }

  get strategy(): StrategyName {
    return this.#strategy.name;
  }

  /** Number of candidate children (exact; cap before writing it to an int64 field). */
  get total(): bigint {
    return this.#space.size;
  }

  /**
   * Candidate children reserved for themselves. Children only covered by an out-of-range
   * reservation are not counted: the pool status then shows them free (total − used), as the Go
   * provider's `total − used + outOfRange` does, although they are not handed out while covered.
   * That keeps `outOfRange` (distinct holds − this) exact, and `free` exact in the Go sense.
   */
  get used(): bigint {
    return BigInt(this.#bitmap.count);
  }

  /**
   * Reserves a free child no hold covers, chosen by the strategy, and returns it as
   * `network/length`, or undefined when there is none. Lowest, Highest and RoundRobin jump over a
   * covered range in one step: O(covered ranges passed · log n), whatever the number of children
   * they cover; Random is O(log(covered ranges) · log n).
   */
  reserveNext(): string | undefined {
    const index = this.#strategy.pick(this.#open);
    if (index === undefined) return undefined;
    // Checked, not trusted: a used prefix handed out again is the one thing that must not happen.
    if (!this.#bitmap.add(index))
      throw new Error(`strategy ${this.#strategy.name} picked index ${index}, in use`);
    this.#strategy.reserved(index);
    return formatChild(this.candidates, this.#space.valueAt(index));
  }

  /**
   * RoundRobin's position: the child handed out last as `network/length`, for the controller to
   * keep in the pool's status. Undefined before the first, and for other strategies.
   */
  get lastAllocated(): string | undefined {
    const index = this.#strategy.lastAllocated;
    return index === undefined ? undefined : formatChild(this.candidates, this.#space.valueAt(index));
  }

  /**
   * Restores RoundRobin's position (read back from the pool's status): the next child handed out is
   * the first free one after `prefix`. A prefix that is no longer a candidate continues after the
   * highest candidate at or below its first child; undefined, a text that is not a prefix, or one
   * below every candidate start from the lowest. Other strategies ignore it.
   */
  restoreLastAllocated(prefix: string | undefined): void {
    if (!('lastAllocated' in this.#strategy)) return;
    const parsed = prefix === undefined ? undefined : parsePrefix(prefix);
    this.#strategy.lastAllocated = parsed?.ok
      ? this.#space.indexAtOrBelow(overlappedChildren(this.candidates, parsed.value).first)
      : undefined;
  }

  /** Reserves a given prefix (an IPAddress seen, or adopted); 'outside' when not a candidate. */
  reserve(prefix: string): PrefixReserveOutcome {
    const index = this.#indexOf(prefix);
    if (index !== undefined) {
      if (!this.#bitmap.add(index)) return 'taken';
      this.#covered.childChanged(index, -1n);
      this.#strategy.reserved(index);
      return 'reserved';
    }
    if (this.#outside.has(prefix)) return 'taken';
    const covered = this.#coveredBy(prefix);
    this.#outside.set(prefix, covered);
    if (covered !== undefined) this.#covered.add(covered);
    return 'outside';
  }

  release(prefix: string): void {
    const index = this.#indexOf(prefix);
    if (index !== undefined) {
      if (!this.#bitmap.remove(index)) return;
      this.#covered.childChanged(index, 1n);
      this.#strategy.released(index);
      return;
    }
    const covered = this.#outside.get(prefix);
    if (!this.#outside.delete(prefix) || covered === undefined) return;
    this.#covered.remove(covered);
    // Children of the range may still be reserved or covered by another hold: searches skip them.
    this.#strategy.released(covered.first, covered.last);
  }

  isReserved(prefix: string): boolean {
    const index = this.#indexOf(prefix);
    return index === undefined ? this.#outside.has(prefix) : this.#bitmap.has(index);
  }

  #indexOf(prefix: string): bigint | undefined {
    const parsed = parsePrefix(prefix);
    if (!parsed.ok) return undefined;
    const child = candidateIndex(this.candidates, parsed.value);
    return child === undefined ? undefined : this.#space.indexOf(child);
  }

  /** The space indices of the candidates an out-of-range prefix covers, or undefined for none. */
  #coveredBy(prefix: string): Range | undefined {
    const parsed = parsePrefix(prefix);
    if (!parsed.ok) return undefined;
    const within = candidatesWithin(
      this.candidates.children,
      overlappedChildren(this.candidates, parsed.value),
    );
    if (within === undefined) return undefined;
    // Both ends are candidates, and the space keeps their order: everything between is covered.
    return { first: this.#space.indexOf(within.first)!, last: this.#space.indexOf(within.last)! };
  }
}

/**
 * The lowest and the highest candidate child inside `range`, or undefined when it holds none (a
 * prefix outside the pool, or in an excluded gap). Logarithmic in the number of candidate ranges.
 */
function candidatesWithin(children: IntervalSet, range: Range): Range | undefined {
  const ranges = children.ranges;
  const low = ranges[firstIndexWhere(ranges.length, (i) => ranges[i]!.last >= range.first)];
  const high = ranges[firstIndexWhere(ranges.length, (i) => ranges[i]!.first > range.last) - 1];
  if (low === undefined || high === undefined || low.first > range.last) return undefined;
  return { first: larger(low.first, range.first), last: smaller(high.last, range.last) };
}

// Math.max/min do not accept bigint.
const larger = (a: bigint, b: bigint): bigint => (a > b ? a : b);
const smaller = (a: bigint, b: bigint): bigint => (a < b ? a : b);
