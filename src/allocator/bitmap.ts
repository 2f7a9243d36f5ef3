/**
 * The used/free bitmap over a pool's dense index space `[0, N)`, with `bigint` indices.
 *
 * Pools of up to 2^53 addresses take a `number` fast path (`narrow`, one {@link ChunkedBitmap});
 * larger ones (IPv6 beyond a /75) use `bigint` indices, in segments of 2^69 created on first use,
 * so memory follows the allocations, not the pool size.
 *
 * Besides "next free at or after i", a bitmap answers "previous free at or before i" (the Highest
 * strategy) and, when built `ranked` (the Random strategy), "how many free below i" and "the k-th
 * free index" in O(log n): it then keeps the used count of every chunk, and of every segment, in
 * count trees, where an absent chunk or segment counts as entirely free.
 */
import { ChunkedBitmap } from './chunked-bitmap.js';
import { CountTree } from './count-tree.js';

export { ChunkedBitmap } from './chunked-bitmap.js';

const CHUNK_SHIFT = 16n;
const CHUNK_MASK = 0xffffn;
const SEGMENT_SHIFT = 69n;
const SEGMENT_SIZE = 1n << SEGMENT_SHIFT;
const SEGMENT_MASK = SEGMENT_SIZE - 1n;
const NARROW_LIMIT = BigInt(Number.MAX_SAFE_INTEGER);

export interface IndexBitmapOptions {
  /** Keep free counts, for {@link IndexBitmap.selectFree} and {@link IndexBitmap.freeBelow}. */
  readonly ranked?: boolean;
}

export class IndexBitmap {
  readonly size: bigint;
  /** Set when the space fits in safe integers: everything then runs on numbers. */
  readonly narrow: ChunkedBitmap | undefined;
  readonly ranked: boolean;
  readonly #segments = new Map<bigint, ChunkedBitmap>();
  /** Used count per segment key, when ranked and wide. */
  readonly #segmentsUsed: CountTree<bigint> | undefined;
  #wideCount = 0;

  constructor(size: bigint, options: IndexBitmapOptions = {}) {
    this.size = size;
    this.ranked = options.ranked ?? false;
    if (size <= NARROW_LIMIT) this.narrow = new ChunkedBitmap(size, this.ranked);
    else if (this.ranked) this.#segmentsUsed = new CountTree<bigint>(-1n);
  }

  /** Number of used indices. */
  get count(): number {
    return this.narrow?.count ?? this.#wideCount;
  }

  /** Number of free indices. */
  get free(): bigint {
    return this.size - BigInt(this.count);
  }

  #segment(key: bigint, create: boolean): ChunkedBitmap | undefined {
    let segment = this.#segments.get(key);
    if (segment === undefined && create) {
      const remaining = this.size - (key << SEGMENT_SHIFT);
      segment = new ChunkedBitmap(remaining < SEGMENT_SIZE ? remaining : SEGMENT_SIZE, this.ranked);
      this.#segments.set(key, segment);
    }
    return segment;
  }

  has(index: bigint): boolean {
    if (index < 0n || index >= this.size) return false;
    if (this.narrow) return this.narrow.has(Number(index));
    const local = index & SEGMENT_MASK;
    const segment = this.#segment(index >> SEGMENT_SHIFT, false);
    return segment?.hasAt(Number(local >> CHUNK_SHIFT), Number(local & CHUNK_MASK)) ?? false;
  }

  /** Marks an index used; false if it already was. */
  add(index: bigint): boolean {
    if (index < 0n || index >= this.size) throw new RangeError(`index ${index} outside [0, ${this.size})`);
    if (this.narrow) return this.narrow.add(Number(index));
    const key = index >> SEGMENT_SHIFT;
    const local = index & SEGMENT_MASK;
    const segment = this.#segment(key, true)!;
    const added = segment.addAt(Number(local >> CHUNK_SHIFT), Number(local & CHUNK_MASK));
    if (added) {
      this.#wideCount++;
      if (segment.count === 1) this.#segmentsUsed?.insert(key, 1);
      else this.#segmentsUsed?.adjust(key, 1);
    }
    return added;
  }

  /** Marks an index free; false if it already was. */
  remove(index: bigint): boolean {
    if (index < 0n || index >= this.size) return false;
    if (this.narrow) return this.narrow.remove(Number(index));
    const key = index >> SEGMENT_SHIFT;
    const local = index & SEGMENT_MASK;
    const segment = this.#segment(key, false);
    if (
      segment === undefined ||
      !segment.removeAt(Number(local >> CHUNK_SHIFT), Number(local & CHUNK_MASK))
    ) {
      return false;
    }
    this.#wideCount--;
    if (segment.count === 0) {
      this.#segments.delete(key);
      this.#segmentsUsed?.delete(key);
    } else this.#segmentsUsed?.adjust(key, -1);
    return true;
  }

  /** Lowest free index at or after `from`, or undefined. */
  nextFree(from: bigint): bigint | undefined {
    const start = from < 0n ? 0n : from;
    if (start >= this.size) return undefined;
    if (this.narrow) {
      const found = this.narrow.nextFree(Number(start));
      return found < 0 ? undefined : BigInt(found);
    }
    let index = start;
    while (index < this.size) {
      const key = index >> SEGMENT_SHIFT;
      const segment = this.#segment(key, false);
      if (segment === undefined) return index;
      const local = index & SEGMENT_MASK;
      if (segment.nextFreeAt(Number(local >> CHUNK_SHIFT), Number(local & CHUNK_MASK))) {
        return (key << SEGMENT_SHIFT) + this.#found(segment);
      }
      index = (key + 1n) << SEGMENT_SHIFT;
    }
    return undefined;
  }

  /** Highest free index at or before `from`, or undefined: the mirror of {@link nextFree}. */
  prevFree(from: bigint): bigint | undefined {
    const start = from >= this.size ? this.size - 1n : from;
    if (start < 0n) return undefined;
    if (this.narrow) {
      const found = this.narrow.prevFree(Number(start));
      return found < 0 ? undefined : BigInt(found);
    }
    let index = start;
    while (index >= 0n) {
      const key = index >> SEGMENT_SHIFT;
      const segment = this.#segment(key, false);
      if (segment === undefined) return index;
      const local = index & SEGMENT_MASK;
      if (segment.prevFreeAt(Number(local >> CHUNK_SHIFT), Number(local & CHUNK_MASK))) {
        return (key << SEGMENT_SHIFT) + this.#found(segment);
      }
      index = (key << SEGMENT_SHIFT) - 1n;
    }
    return undefined;
  }

  /** Number of free indices below `index`; needs a ranked bitmap. O(log n). */
  freeBelow(index: bigint): bigint {
    if (index <= 0n) return 0n;
    if (index >= this.size) return this.free;
    if (this.narrow) return BigInt(this.narrow.freeBelow(Number(index)));
    const key = index >> SEGMENT_SHIFT;
    let used = this.#segmentRanks().sumBelow(key);
    const segment = this.#segment(key, false);
    if (segment !== undefined) {
      const local = index & SEGMENT_MASK;
      used += segment.usedBelowAt(Number(local >> CHUNK_SHIFT), Number(local & CHUNK_MASK));
    }
    return index - BigInt(used);
  }

  /**
   * The `rank`-th (0-based) free index, for 0 <= rank < free; needs a ranked bitmap. O(log n): a
   * descent through the segments' and the chunks' used counts, then a search in one chunk.
   */
  selectFree(rank: bigint): bigint {
    if (rank < 0n || rank >= this.free) throw new RangeError(`rank ${rank} outside [0, ${this.free})`);
    if (this.narrow) return BigInt(this.narrow.selectFree(Number(rank)));
    const tree = this.#segmentRanks();
    let node = tree.root;
    let usedBefore = 0; // used indices in the segments left of the current subtree
    while (node !== 0) {
      const key = tree.key(node);
      const usedLeft = usedBefore + tree.sum(tree.left(node));
      const freeBefore = (key << SEGMENT_SHIFT) - BigInt(usedLeft);
      if (rank < freeBefore) {
        node = tree.left(node);
        continue;
      }
      const segment = this.#segments.get(key)!;
      const local = rank - freeBefore;
      if (local < segment.size - BigInt(segment.count)) {
        segment.selectFreeAt(local);
        return (key << SEGMENT_SHIFT) + this.#found(segment);
      }
      usedBefore = usedLeft + tree.count(node);
      node = tree.right(node);
    }
    // In a segment that does not exist: all of it is free.
    return rank + BigInt(usedBefore);
  }

  #found(segment: ChunkedBitmap): bigint {
    return (BigInt(segment.foundKey) << CHUNK_SHIFT) + BigInt(segment.foundPosition);
  }

  #segmentRanks(): CountTree<bigint> {
    if (this.#segmentsUsed === undefined) throw new Error('free counts are kept only by a ranked bitmap');
    return this.#segmentsUsed;
  }

  /** Used indices in ascending order. */
  *values(): IterableIterator<bigint> {
    const keys = this.narrow ? [0n] : [...this.#segments.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const key of keys) {
      const segment = this.narrow ?? this.#segments.get(key)!;
      const base = key << SEGMENT_SHIFT;
      for (const [k, p] of segment.entries()) yield base + (BigInt(k) << CHUNK_SHIFT) + BigInt(p);
    }
  }

  /** Approximate bytes held. */
  get bytes(): number {
    if (this.narrow) return this.narrow.bytes;
    let total = 64 + (this.#segmentsUsed?.bytes ?? 0);
    for (const segment of this.#segments.values()) total += segment.bytes + 48;
    return total;
  }
}
