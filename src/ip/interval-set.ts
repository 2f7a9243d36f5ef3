/** An inclusive range of unsigned integers, `first <= last`. */
export interface Range {
  readonly first: bigint;
  readonly last: bigint;
}

// Math.max/min do not accept bigint.
const larger = (a: bigint, b: bigint): bigint => (a > b ? a : b);
const smaller = (a: bigint, b: bigint): bigint => (a < b ? a : b);

function normalise(input: Iterable<Range>): Range[] {
  const sorted = [...input].filter((r) => r.first <= r.last);
  sorted.sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
  const out: Range[] = [];
  for (const r of sorted) {
    const tail = out[out.length - 1];
    // Adjacent ranges merge too, so that one set has exactly one representation.
    if (tail !== undefined && r.first <= tail.last + 1n) {
      if (r.last > tail.last) out[out.length - 1] = { first: tail.first, last: r.last };
    } else {
      out.push({ first: r.first, last: r.last });
    }
  }
  return out;
}

/**
 * An immutable set of integers held as sorted, disjoint, merged ranges. Every operation is linear
 * in the number of ranges (or logarithmic for lookups), never in the number of members, so an IPv6
 * /64 costs the same as a /30.
 */
export class IntervalSet {
  static readonly EMPTY = new IntervalSet([]);

  readonly ranges: readonly Range[];
  #size: bigint | undefined;

  private constructor(ranges: Range[]) {
    this.ranges = Object.freeze(ranges);
  }

  /** A set from ranges in any order, overlapping or not; empty ranges (`first > last`) are ignored. */
  static of(ranges: Iterable<Range>): IntervalSet {
    return new IntervalSet(normalise(ranges));
  }

  static range(first: bigint, last: bigint): IntervalSet {
    return first <= last ? new IntervalSet([{ first, last }]) : IntervalSet.EMPTY;
  }

  static single(value: bigint): IntervalSet {
    return new IntervalSet([{ first: value, last: value }]);
  }

  get isEmpty(): boolean {
    return this.ranges.length === 0;
  }

  /** Exact number of members. */
  get size(): bigint {
    if (this.#size === undefined) {
      let total = 0n;
      for (const r of this.ranges) total += r.last - r.first + 1n;
      this.#size = total;
    }
    return this.#size;
  }

  /** Smallest member, or undefined when empty. */
  get lowest(): bigint | undefined {
    return this.ranges[0]?.first;
  }

  /** Largest member, or undefined when empty. */
  get highest(): bigint | undefined {
    return this.ranges[this.ranges.length - 1]?.last;
  }

  /** Index of the range holding `value`, or -1. */
  rangeIndexOf(value: bigint): number {
    let lo = 0;
    let hi = this.ranges.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const r = this.ranges[mid]!;
      if (value < r.first) hi = mid - 1;
      else if (value > r.last) lo = mid + 1;
      else return mid;
    }
    return -1;
  }

  contains(value: bigint): boolean {
    return this.rangeIndexOf(value) >= 0;
  }

  /** Whether every member of `[first, last]` is in the set. */
  containsRange(first: bigint, last: bigint): boolean {
    if (first > last) return true;
    const i = this.rangeIndexOf(first);
    return i >= 0 && this.ranges[i]!.last >= last;
  }

  /** Whether every member of `other` is in this set. */
  containsSet(other: IntervalSet): boolean {
    return other.ranges.every((r) => this.containsRange(r.first, r.last));
  }

  /** Whether the two sets share at least one member. */
  overlaps(other: IntervalSet): boolean {
    let i = 0;
    let j = 0;
    while (i < this.ranges.length && j < other.ranges.length) {
      const a = this.ranges[i]!;
      const b = other.ranges[j]!;
      if (a.last < b.first) i++;
      else if (b.last < a.first) j++;
      else return true;
    }
    return false;
  }

  union(other: IntervalSet): IntervalSet {
    if (other.isEmpty) return this;
    if (this.isEmpty) return other;
    return IntervalSet.of([...this.ranges, ...other.ranges]);
  }

  /** Members of this set that are not in `other`. */
  subtract(other: IntervalSet): IntervalSet {
    if (other.isEmpty || this.isEmpty) return this;
    const out: Range[] = [];
    let j = 0;
    for (const r of this.ranges) {
      let first = r.first;
      while (j < other.ranges.length && other.ranges[j]!.last < first) j++;
      let k = j;
      while (first <= r.last) {
        const cut = other.ranges[k];
        if (cut === undefined || cut.first > r.last) {
          out.push({ first, last: r.last });
          break;
        }
        if (cut.first > first) out.push({ first, last: cut.first - 1n });
        first = cut.last + 1n;
        k++;
      }
    }
    return new IntervalSet(out);
  }

  intersect(other: IntervalSet): IntervalSet {
    const out: Range[] = [];
    let i = 0;
    let j = 0;
    while (i < this.ranges.length && j < other.ranges.length) {
      const a = this.ranges[i]!;
      const b = other.ranges[j]!;
      const first = larger(a.first, b.first);
      const last = smaller(a.last, b.last);
      if (first <= last) out.push({ first, last });
      if (a.last < b.last) i++;
      else j++;
    }
    return new IntervalSet(out);
  }

  /** Members in ascending order. Lazy, so it is safe on huge sets if the caller stops early. */
  *values(): IterableIterator<bigint> {
    for (const r of this.ranges) {
      for (let v = r.first; v <= r.last; v++) yield v;
    }
  }

  equals(other: IntervalSet): boolean {
    if (this.ranges.length !== other.ranges.length) return false;
    return this.ranges.every(
      (r, i) => r.first === other.ranges[i]!.first && r.last === other.ranges[i]!.last,
    );
  }
}
