/**
 * The dense index space of an allocatable set: its sorted ranges laid end to end, so that index 0
 * is the lowest address and index N-1 the highest. Ordering is preserved, which is what makes
 * "lowest free index" the Go provider's "lowest free address".
 */
import type { IntervalSet } from '../ip/index.js';

export class IndexSpace {
  readonly size: bigint;
  readonly #firsts: bigint[];
  readonly #lasts: bigint[];
  /** Index of the first address of each range. */
  readonly #offsets: bigint[];
  #lastRange = 0;

  constructor(set: IntervalSet) {
    this.#firsts = set.ranges.map((r) => r.first);
    this.#lasts = set.ranges.map((r) => r.last);
    this.#offsets = [];
    let offset = 0n;
    for (const r of set.ranges) {
      this.#offsets.push(offset);
      offset += r.last - r.first + 1n;
    }
    this.size = offset;
  }

  /** The index of an address value, or undefined when it is not in the set. */
  indexOf(value: bigint): bigint | undefined {
    let lo = 0;
    let hi = this.#firsts.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (value < this.#firsts[mid]!) hi = mid - 1;
      else if (value > this.#lasts[mid]!) lo = mid + 1;
      else return this.#offsets[mid]! + (value - this.#firsts[mid]!);
    }
    return undefined;
  }

  /**
   * The index of the highest address of the set at or below `value`, or undefined when every
   * address of the set is above it. For an address that was in the set and no longer is, that is
   * where a search "after it" should continue from.
   */
  indexAtOrBelow(value: bigint): bigint | undefined {
    let lo = 0;
    let hi = this.#firsts.length - 1;
    let below = -1; // the last range that starts at or below value
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#firsts[mid]! <= value) {
        below = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (below < 0) return undefined;
    const last = this.#lasts[below]!;
    return this.#offsets[below]! + ((value < last ? value : last) - this.#firsts[below]!);
  }

  /** The address value at an index in `[0, size)`. */
  valueAt(index: bigint): bigint {
    let r = this.#lastRange;
    // Allocation moves forward through one range at a time; try the last range and the next first.
    if (!this.#holds(r, index)) {
      r = this.#holds(r + 1, index) ? r + 1 : this.#rangeAt(index);
      this.#lastRange = r;
    }
    return this.#firsts[r]! + (index - this.#offsets[r]!);
  }

  #holds(r: number, index: bigint): boolean {
    const offset = this.#offsets[r];
    if (offset === undefined || index < offset) return false;
    const next = this.#offsets[r + 1];
    return next === undefined ? index < this.size : index < next;
  }

  #rangeAt(index: bigint): number {
    if (index < 0n || index >= this.size) throw new RangeError(`index ${index} outside [0, ${this.size})`);
    let lo = 0;
    let hi = this.#offsets.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.#offsets[mid]! <= index) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}
