/**
 * The allocator of a prefix pool: the IP pools' bitmap over the index space of the pool's candidate
 * children (src/ip/prefix.ts), searched lowest first (the Go provider's order). Prefixes are named
 * by their text `network/length`, masked. Pure and synchronous, like PoolAllocator: pick and
 * reserve happen with no `await` in between, so one prefix is never handed out twice.
 *
 * A reservation that is not a candidate (out of range: excluded since, outside the prefixes, or of
 * another length, made by hand) is kept as such. One of another length may still overlap candidate
 * children — a /56 in a /64 pool covers 256 of them, a /64 in a /128 pool 2^64 — and the Go
 * provider never hands those out: neither does this one. The covered children are kept as one
 * range per out-of-range reservation, never child by child, and the search jumps over a range in
 * one step; they are free again once the reservation is released.
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
import { IndexSpace } from './index-space.js';

export type PrefixReserveOutcome = 'reserved' | 'taken' | 'outside';

export class PrefixAllocator {
  readonly candidates: PrefixCandidates;
  readonly #space: IndexSpace;
  /** Candidate children reserved by a hold of exactly that child (in range). */
  readonly #bitmap: IndexBitmap;
  /** Out-of-range reservations by text → the space indices of the candidates they cover, if any. */
  readonly #outside = new Map<string, Range | undefined>();
  readonly #covered = new CoveredRanges();
  // Every space index below the hint is reserved or covered, so a search starts there: filling a
  // pool stays O(1) per allocation instead of rescanning from 0 (and over every covered range).
  // Not the shared LowestStrategy: its pick sees only the bitmap, and would stop on covered children.
  #hint = 0n;

  constructor(candidates: PrefixCandidates) {
    this.candidates = candidates;
    this.#space = new IndexSpace(candidates.children);
    this.#bitmap = new IndexBitmap(this.#space.size);
  }

  static fromSpec(spec: PrefixSpecInput): Result<PrefixAllocator> {
    const c = prefixCandidates(spec);
    return c.ok ? { ok: true, value: new PrefixAllocator(c.value) } : c;
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
   * Reserves the lowest free child and returns it as `network/length`, or undefined when full.
   * Each step either finds a child or jumps past a whole covered range: O(covered ranges between
   * the hint and the result · log), whatever the number of children they cover.
   */
  reserveNext(): string | undefined {
    let from = this.#hint;
    for (;;) {
      const index = this.#bitmap.nextFree(from);
      if (index === undefined) {
        this.#hint = this.#space.size;
        return undefined;
      }
      const coveredTo = this.#covered.endOfRangeHolding(index);
      if (coveredTo === undefined) {
        this.#bitmap.add(index);
        this.#hint = index + 1n;
        return formatChild(this.candidates, this.#space.valueAt(index));
      }
      from = coveredTo + 1n;
    }
  }

  /** Reserves a given prefix (an IPAddress seen, or adopted); 'outside' when not a candidate. */
  reserve(prefix: string): PrefixReserveOutcome {
    const index = this.#indexOf(prefix);
    if (index !== undefined) return this.#bitmap.add(index) ? 'reserved' : 'taken';
    if (this.#outside.has(prefix)) return 'taken';
    const covered = this.#coveredBy(prefix);
    this.#outside.set(prefix, covered);
    if (covered !== undefined) this.#covered.add(covered);
    return 'outside';
  }

  release(prefix: string): void {
    const index = this.#indexOf(prefix);
    if (index !== undefined) {
      if (this.#bitmap.remove(index) && index < this.#hint) this.#hint = index;
      return;
    }
    const covered = this.#outside.get(prefix);
    if (!this.#outside.delete(prefix) || covered === undefined) return;
    this.#covered.remove(covered);
    // Children of the range may still be reserved or covered by another hold: the search skips them.
    if (covered.first < this.#hint) this.#hint = covered.first;
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

/** The lowest i in [0, length) for which `test` holds, or length; `test` must be monotone. */
function firstIndexWhere(length: number, test: (i: number) => boolean): number {
  let lo = 0;
  let hi = length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (test(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** A range of space indices and the number of out-of-range reservations that cover exactly it. */
interface CoveredRange extends Range {
  holds: number;
}

/**
 * The ranges of candidate children covered by out-of-range reservations. Reservations are
 * prefixes, and so are their ranges: two are nested or disjoint, never partly overlapping (a
 * range cut down to the candidates it holds keeps that). So the outermost ranges are disjoint and
 * tell alone whether a child is covered; the nested ones wait for their outer range to go.
 *
 * Memory is one entry per distinct range. Finding the range that covers a child is O(log n); adding
 * or removing a range is O(log n) plus an array splice, and removing an outermost range also visits
 * the ranges it brings out (each found in O(log n)). Never anything per covered child.
 */
class CoveredRanges {
  // Every distinct range, by first ascending then last descending: nested ranges follow their outer.
  readonly #all: CoveredRange[] = [];
  // The outermost ranges, sorted and disjoint: the same objects as in #all.
  #outermost: CoveredRange[] = [];

  /** The last index of the range covering `index`, or undefined when no range covers it. */
  endOfRangeHolding(index: bigint): bigint | undefined {
    const outer = this.#outermost[this.#outermostUpTo(index) - 1];
    return outer !== undefined && outer.last >= index ? outer.last : undefined;
  }

  add(range: Range): void {
    const at = this.#position(range);
    const same = this.#all[at];
    if (same !== undefined && same.first === range.first && same.last === range.last) {
      same.holds++;
      return;
    }
    const entry: CoveredRange = { first: range.first, last: range.last, holds: 1 };
    this.#all.splice(at, 0, entry);
    const before = this.#outermost[this.#outermostUpTo(range.first) - 1];
    if (before !== undefined && before.last >= range.last) return; // nested in an outermost range
    // It becomes outermost, and the outermost ranges inside it become nested in it.
    const from = firstIndexWhere(this.#outermost.length, (i) => this.#outermost[i]!.first >= range.first);
    const to = this.#outermostUpTo(range.last);
    this.#outermost.splice(from, to - from, entry);
  }

  remove(range: Range): void {
    const at = this.#position(range);
    const entry = this.#all[at];
    if (entry === undefined || entry.first !== range.first || entry.last !== range.last) return;
    if (--entry.holds > 0) return;
    this.#all.splice(at, 1);
    const slot = this.#outermostUpTo(range.first) - 1;
    if (this.#outermost[slot] !== entry) return; // nested: its outer range still covers it all
    // The ranges right inside it become outermost: after each, the next starts past its end.
    const exposed: CoveredRange[] = [];
    for (let next = at; this.#all[next] !== undefined && this.#all[next]!.first <= range.last; ) {
      const inner = this.#all[next]!;
      exposed.push(inner);
      next = firstIndexWhere(this.#all.length, (i) => this.#all[i]!.first > inner.last);
    }
    // Not splice(slot, 1, ...exposed): a spread of that many arguments can overflow the stack.
    this.#outermost = [...this.#outermost.slice(0, slot), ...exposed, ...this.#outermost.slice(slot + 1)];
  }

  /** Where `range` is, or goes, in #all. */
  #position(range: Range): number {
    return firstIndexWhere(this.#all.length, (i) => {
      const r = this.#all[i]!;
      return r.first > range.first || (r.first === range.first && r.last <= range.last);
    });
  }

  /** The number of outermost ranges that start at or before `index`. */
  #outermostUpTo(index: bigint): number {
    return firstIndexWhere(this.#outermost.length, (i) => this.#outermost[i]!.first > index);
  }
}
