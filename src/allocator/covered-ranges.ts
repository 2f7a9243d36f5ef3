/**
 * What a prefix pool may hand out: its free candidate children that no hold of another length
 * covers. A /56 held in a pool of /64s covers 256 children, a /64 in a pool of /128s 2^64, so
 * covered children are never marked one by one: each hold keeps one range, and every search jumps
 * over a covered range in one step.
 *
 * For Random, the free children inside covered ranges must not be drawn, and must not be counted:
 * a uniform draw is among the free AND uncovered children. The choice here: each outermost covered
 * range keeps how many free children it holds (a Fenwick tree over the ranges in order), updated
 * when a child inside it is reserved or released and computed from the bitmap's free counts when a
 * range becomes outermost. A pick draws k below (free − covered free) and finds the k-th uncovered
 * free child by a binary search over the covered ranges for the gap it lies in, then a select on
 * the bitmap shifted by the covered free children before that gap: O(log R · log n) per pick, never
 * O(covered ranges) or O(covered children). The alternative, taking covered children out of the
 * bitmap's counts, would touch every chunk a range spans (2^48 of them for a /64 in /128s).
 */
import type { Range } from '../ip/index.js';
import type { IndexBitmap } from './bitmap.js';
import type { FreeIndices, NarrowFreeIndices } from './strategy.js';

/** The lowest i in [0, length) for which `test` holds, or length; `test` must be monotone. */
export function firstIndexWhere(length: number, test: (i: number) => boolean): number {
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
  /** Free children inside, kept for outermost ranges when counting. */
  free: bigint;
}

/**
 * The ranges of candidate children covered by out-of-range reservations. Reservations are
 * prefixes, and so are their ranges: two are nested or disjoint, never partly overlapping (a
 * range cut down to the candidates it holds keeps that). So the outermost ranges are disjoint and
 * tell alone whether a child is covered; the nested ones wait for their outer range to go.
 *
 * Memory is one entry per distinct range. Finding the range that covers a child is O(log n); adding
 * or removing a range is O(log n) plus an array splice (and, when counting, a rebuild of the
 * Fenwick tree, O(R)), and removing an outermost range also visits the ranges it brings out (each
 * found in O(log n)). Never anything per covered child.
 */
export class CoveredRanges {
  // Every distinct range, by first ascending then last descending: nested ranges follow their outer.
  readonly #all: CoveredRange[] = [];
  // The outermost ranges, sorted and disjoint: the same objects as in #all.
  #outermost: CoveredRange[] = [];
  /** The bitmap whose free children the ranges count, when counting (Random). */
  readonly #bitmap: IndexBitmap | undefined;
  // Fenwick tree over #outermost's free counts (1-based); rebuilt lazily after the ranges change.
  #fenwick: bigint[] = [0n];
  #fenwickStale = false;
  #free = 0n;

  constructor(counting?: IndexBitmap) {
    this.#bitmap = counting;
  }

  get isEmpty(): boolean {
    return this.#outermost.length === 0;
  }

  /** Free children inside covered ranges; kept when counting. */
  get free(): bigint {
    return this.#free;
  }

  /** Number of outermost (disjoint) ranges. */
  get outermostCount(): number {
    return this.#outermost.length;
  }

  /** First index of the `slot`-th outermost range. */
  firstOf(slot: number): bigint {
    return this.#outermost[slot]!.first;
  }

  /** Free children inside the outermost ranges before `slot`; kept when counting. O(log R). */
  freeBefore(slot: number): bigint {
    if (this.#fenwickStale) this.#rebuildFenwick();
    let sum = 0n;
    for (let i = slot; i > 0; i -= i & -i) sum += this.#fenwick[i]!;
    return sum;
  }

  /** The last index of the range covering `index`, or undefined when no range covers it. */
  endOfRangeHolding(index: bigint): bigint | undefined {
    const outer = this.#outermost[this.#outermostUpTo(index) - 1];
    return outer !== undefined && outer.last >= index ? outer.last : undefined;
  }

  /** The first index of the range covering `index`, or undefined when no range covers it. */
  startOfRangeHolding(index: bigint): bigint | undefined {
    const outer = this.#outermost[this.#outermostUpTo(index) - 1];
    return outer !== undefined && outer.last >= index ? outer.first : undefined;
  }

  /** A free child became reserved (`delta` −1) or a reserved one free (+1): adjust its range. */
  childChanged(index: bigint, delta: -1n | 1n): void {
    if (this.#bitmap === undefined) return;
    const slot = this.#outermostUpTo(index) - 1;
    const outer = this.#outermost[slot];
    if (outer === undefined || outer.last < index) return;
    outer.free += delta;
    this.#free += delta;
    if (this.#fenwickStale) return;
    for (let i = slot + 1; i < this.#fenwick.length; i += i & -i) this.#fenwick[i]! += delta;
  }

  add(range: Range): void {
    const at = this.#position(range);
    const same = this.#all[at];
    if (same !== undefined && same.first === range.first && same.last === range.last) {
      same.holds++;
      return;
    }
    const entry: CoveredRange = { first: range.first, last: range.last, holds: 1, free: 0n };
    this.#all.splice(at, 0, entry);
    const before = this.#outermost[this.#outermostUpTo(range.first) - 1];
    if (before !== undefined && before.last >= range.last) return; // nested in an outermost range
    // It becomes outermost, and the outermost ranges inside it become nested in it.
    const from = firstIndexWhere(this.#outermost.length, (i) => this.#outermost[i]!.first >= range.first);
    const to = this.#outermostUpTo(range.last);
    const swallowed = this.#outermost.splice(from, to - from, entry);
    this.#fenwickStale = true;
    if (this.#bitmap !== undefined) {
      for (const inner of swallowed) this.#free -= inner.free;
      this.#count(entry);
    }
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
    this.#fenwickStale = true;
    if (this.#bitmap !== undefined) {
      this.#free -= entry.free;
      for (const inner of exposed) this.#count(inner);
    }
  }

  /** Counts the free children of a range that just became outermost. */
  #count(entry: CoveredRange): void {
    const bitmap = this.#bitmap!;
    entry.free = bitmap.freeBelow(entry.last + 1n) - bitmap.freeBelow(entry.first);
    this.#free += entry.free;
  }

  #rebuildFenwick(): void {
    const n = this.#outermost.length;
    const tree = new Array<bigint>(n + 1).fill(0n);
    for (let i = 1; i <= n; i++) {
      tree[i]! += this.#outermost[i - 1]!.free;
      const parent = i + (i & -i);
      if (parent <= n) tree[parent]! += tree[i]!;
    }
    this.#fenwick = tree;
    this.#fenwickStale = false;
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

/**
 * The children a strategy may pick: free in the bitmap and covered by no range. While nothing is
 * covered it is the bitmap itself, number fast path included.
 */
export class OpenChildren implements FreeIndices {
  readonly #bitmap: IndexBitmap;
  readonly #covered: CoveredRanges;

  constructor(bitmap: IndexBitmap, covered: CoveredRanges) {
    this.#bitmap = bitmap;
    this.#covered = covered;
  }

  get size(): bigint {
    return this.#bitmap.size;
  }

  get narrow(): NarrowFreeIndices | undefined {
    return this.#covered.isEmpty ? this.#bitmap.narrow : undefined;
  }

  /** Needs a ranked bitmap and counting ranges (the allocator builds both for Random). */
  get free(): bigint {
    return this.#bitmap.free - this.#covered.free;
  }

  /** O(covered ranges passed · log n): each step finds a child or jumps past a covered range. */
  nextFree(from: bigint): bigint | undefined {
    for (let at = from; ; ) {
      const index = this.#bitmap.nextFree(at);
      if (index === undefined) return undefined;
      const coveredTo = this.#covered.endOfRangeHolding(index);
      if (coveredTo === undefined) return index;
      at = coveredTo + 1n;
    }
  }

  /** The mirror of {@link nextFree}. */
  prevFree(from: bigint): bigint | undefined {
    for (let at = from; ; ) {
      const index = this.#bitmap.prevFree(at);
      if (index === undefined) return undefined;
      const coveredFrom = this.#covered.startOfRangeHolding(index);
      if (coveredFrom === undefined) return index;
      at = coveredFrom - 1n;
    }
  }

  /** The `rank`-th free uncovered child; see the module comment. O(log R · log n). */
  selectFree(rank: bigint): bigint {
    const covered = this.#covered;
    // Ranges wholly before the answer: those with at most `rank` free uncovered children below
    // their start (that count never decreases from one range to the next).
    const before = firstIndexWhere(
      covered.outermostCount,
      (slot) => this.#bitmap.freeBelow(covered.firstOf(slot)) - covered.freeBefore(slot) > rank,
    );
    return this.#bitmap.selectFree(rank + covered.freeBefore(before));
  }
}
