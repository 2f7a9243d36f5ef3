/**
 * The used/free bitmap over a pool's dense index space `[0, N)`.
 *
 * `ChunkedBitmap` splits the space into chunks of 2^16 indices, keyed by a `number` (exact up to
 * 2^53 chunks, so one bitmap covers 2^69 indices). A chunk exists only while it holds a used index:
 * a lone index is stored as a bare number (no object at all, which is what keeps scattered
 * reservations in an IPv6 /64 cheap), a few as a sorted array, many as a bit array. Chunks that are
 * entirely used are also kept as sorted runs of chunk keys — the summary that lets "next free at
 * or after i" jump over a full region in one step.
 *
 * `IndexBitmap` is the `bigint` face the allocator uses: pools of up to 2^53 addresses take a
 * `number` fast path; larger ones (IPv6 beyond a /75) use `bigint` indices, in segments of 2^69
 * created on first use, so memory follows the allocations, not the pool size.
 */
import { ArrayContainer, CHUNK_SIZE, type Container } from './container.js';

const CHUNK_SHIFT = 16n;
const CHUNK_MASK = 0xffffn;
const SEGMENT_SHIFT = 69n;
const SEGMENT_SIZE = 1n << SEGMENT_SHIFT;
const SEGMENT_MASK = SEGMENT_SIZE - 1n;
const NARROW_LIMIT = BigInt(Number.MAX_SAFE_INTEGER);

/** A chunk: one used position as a bare number, or a container of several. */
type Chunk = number | Container;

function chunkCount(chunk: Chunk): number {
  return typeof chunk === 'number' ? 1 : chunk.count;
}

export class ChunkedBitmap {
  readonly size: bigint;
  count = 0;
  readonly #sizeNumber: number;
  readonly #lastKey: number;
  readonly #lastCapacity: number;
  readonly #chunks = new Map<number, Chunk>();
  // Runs of consecutive full chunk keys, sorted: runStarts[i]..runEnds[i].
  readonly #runStarts: number[] = [];
  readonly #runEnds: number[] = [];
  // The chunk touched last: allocation walks one chunk at a time, so this saves most map lookups.
  #cachedKey = -1;
  #cachedChunk: Chunk | undefined;
  /** Result of {@link nextFreeAt}, kept in fields so the hot path allocates nothing. */
  foundKey = 0;
  foundPosition = 0;

  constructor(size: bigint) {
    if (size < 0n || size > SEGMENT_SIZE) throw new RangeError(`bitmap size ${size} outside [0, 2^69]`);
    this.size = size;
    this.#sizeNumber = Number(size);
    this.#lastKey = Number((size - 1n) >> CHUNK_SHIFT);
    this.#lastCapacity = size === 0n ? 0 : Number(size - (BigInt(this.#lastKey) << CHUNK_SHIFT));
  }

  #chunk(key: number): Chunk | undefined {
    if (key !== this.#cachedKey) {
      this.#cachedKey = key;
      this.#cachedChunk = this.#chunks.get(key);
    }
    return this.#cachedChunk;
  }

  #store(key: number, chunk: Chunk | undefined): void {
    if (chunk === undefined) this.#chunks.delete(key);
    else this.#chunks.set(key, chunk);
    this.#cachedKey = key;
    this.#cachedChunk = chunk;
  }

  #capacity(key: number): number {
    return key === this.#lastKey ? this.#lastCapacity : CHUNK_SIZE;
  }

  hasAt(key: number, position: number): boolean {
    const chunk = this.#chunk(key);
    if (chunk === undefined) return false;
    return typeof chunk === 'number' ? chunk === position : chunk.has(position);
  }

  /** Marks a position used; false if it already was. The caller keeps key and position in range. */
  addAt(key: number, position: number): boolean {
    const chunk = this.#chunk(key);
    let next: Chunk;
    if (chunk === undefined) next = position;
    else if (typeof chunk === 'number') {
      if (chunk === position) return false;
      const array = new ArrayContainer();
      array.add(chunk);
      array.add(position);
      next = array;
    } else {
      const added = chunk.add(position);
      if (added === undefined) return false;
      next = added;
    }
    if (next !== chunk) this.#store(key, next);
    this.count++;
    if (chunkCount(next) === this.#capacity(key)) this.#markFull(key);
    return true;
  }

  /** Marks a position free; false if it already was. */
  removeAt(key: number, position: number): boolean {
    const chunk = this.#chunk(key);
    if (chunk === undefined) return false;
    const wasFull = chunkCount(chunk) === this.#capacity(key);
    let next: Chunk | undefined;
    if (typeof chunk === 'number') {
      if (chunk !== position) return false;
      next = undefined;
    } else {
      const removed = chunk.remove(position);
      if (removed === undefined) return false;
      next = removed.count === 1 ? (removed.positions().next().value as number) : removed;
    }
    this.count--;
    if (wasFull) this.#markNotFull(key);
    if (next !== chunk) this.#store(key, next);
    return true;
  }

  /**
   * Finds the lowest free position at or after (key, position); on success sets `foundKey` and
   * `foundPosition` and returns true.
   */
  nextFreeAt(key: number, position: number): boolean {
    let k = key;
    let p = position;
    while (k <= this.#lastKey) {
      const run = this.#runOf(k);
      if (run >= 0) {
        k = this.#runEnds[run]! + 1;
        p = 0;
        continue;
      }
      const capacity = this.#capacity(k);
      const chunk = this.#chunk(k);
      let found: number;
      if (chunk === undefined) found = p;
      else if (typeof chunk === 'number') found = chunk === p ? p + 1 : p;
      else found = chunk.nextAbsent(p, capacity);
      if (found >= 0 && found < capacity) {
        this.foundKey = k;
        this.foundPosition = found;
        return true;
      }
      k++;
      p = 0;
    }
    return false;
  }

  // The number face, exact while size <= 2^53. `index & 0xffff` is exact for any safe integer.
  has(index: number): boolean {
    return this.hasAt(Math.floor(index / CHUNK_SIZE), index & (CHUNK_SIZE - 1));
  }

  add(index: number): boolean {
    if (!(index >= 0 && index < this.#sizeNumber))
      throw new RangeError(`index ${index} outside [0, ${this.size})`);
    return this.addAt(Math.floor(index / CHUNK_SIZE), index & (CHUNK_SIZE - 1));
  }

  remove(index: number): boolean {
    return this.removeAt(Math.floor(index / CHUNK_SIZE), index & (CHUNK_SIZE - 1));
  }

  /** Lowest free index at or after `from`, or -1. */
  nextFree(from: number): number {
    if (!this.nextFreeAt(Math.floor(from / CHUNK_SIZE), from & (CHUNK_SIZE - 1))) return -1;
    return this.foundKey * CHUNK_SIZE + this.foundPosition;
  }

  /** Used (key, position) pairs in ascending order. */
  *entries(): IterableIterator<readonly [number, number]> {
    const keys = [...this.#chunks.keys()].sort((a, b) => a - b);
    for (const key of keys) {
      const chunk = this.#chunks.get(key)!;
      if (typeof chunk === 'number') yield [key, chunk];
      else for (const p of chunk.positions()) yield [key, p];
    }
  }

  /** Number of chunks that exist (hold at least one used index). */
  get chunkCount(): number {
    return this.#chunks.size;
  }

  /** Approximate bytes held: map entries, containers and the full-run summary. */
  get bytes(): number {
    let total = 64 + this.#runStarts.length * 16 + this.#chunks.size * 40;
    for (const chunk of this.#chunks.values()) if (typeof chunk !== 'number') total += chunk.bytes;
    return total;
  }

  /** Index of the run holding `key`, or -1. */
  #runOf(key: number): number {
    const starts = this.#runStarts;
    if (starts.length === 0) return -1;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (key < starts[mid]!) hi = mid - 1;
      else if (key > this.#runEnds[mid]!) lo = mid + 1;
      else return mid;
    }
    return -1;
  }

  #markFull(key: number): void {
    let after = 0;
    let hi = this.#runStarts.length;
    while (after < hi) {
      const mid = (after + hi) >>> 1;
      if (this.#runStarts[mid]! <= key) after = mid + 1;
      else hi = mid;
    }
    const before = after - 1;
    const joinsBefore = before >= 0 && this.#runEnds[before] === key - 1;
    const joinsAfter = after < this.#runStarts.length && this.#runStarts[after] === key + 1;
    if (joinsBefore && joinsAfter) {
      this.#runEnds[before] = this.#runEnds[after]!;
      this.#runStarts.splice(after, 1);
      this.#runEnds.splice(after, 1);
    } else if (joinsBefore) this.#runEnds[before] = key;
    else if (joinsAfter) this.#runStarts[after] = key;
    else {
      this.#runStarts.splice(after, 0, key);
      this.#runEnds.splice(after, 0, key);
    }
  }

  #markNotFull(key: number): void {
    const run = this.#runOf(key);
    if (run < 0) return;
    const start = this.#runStarts[run]!;
    const end = this.#runEnds[run]!;
    if (start === key && end === key) {
      this.#runStarts.splice(run, 1);
      this.#runEnds.splice(run, 1);
    } else if (start === key) this.#runStarts[run] = key + 1;
    else if (end === key) this.#runEnds[run] = key - 1;
    else {
      this.#runEnds[run] = key - 1;
      this.#runStarts.splice(run + 1, 0, key + 1);
      this.#runEnds.splice(run + 1, 0, end);
    }
  }
}

/** The bitmap over `[0, size)` with `bigint` indices; see the module comment. */
export class IndexBitmap {
  readonly size: bigint;
  /** Set when the space fits in safe integers: everything then runs on numbers. */
  readonly narrow: ChunkedBitmap | undefined;
  readonly #narrowSize: number;
  readonly #segments = new Map<bigint, ChunkedBitmap>();
  #wideCount = 0;

  constructor(size: bigint) {
    this.size = size;
    this.#narrowSize = Number(size);
    if (size <= NARROW_LIMIT) this.narrow = new ChunkedBitmap(size);
  }

  /** Number of used indices. */
  get count(): number {
    return this.narrow?.count ?? this.#wideCount;
  }

  #segment(key: bigint, create: boolean): ChunkedBitmap | undefined {
    let segment = this.#segments.get(key);
    if (segment === undefined && create) {
      const remaining = this.size - (key << SEGMENT_SHIFT);
      segment = new ChunkedBitmap(remaining < SEGMENT_SIZE ? remaining : SEGMENT_SIZE);
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
    const local = index & SEGMENT_MASK;
    const segment = this.#segment(index >> SEGMENT_SHIFT, true)!;
    const added = segment.addAt(Number(local >> CHUNK_SHIFT), Number(local & CHUNK_MASK));
    if (added) this.#wideCount++;
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
    if (segment.count === 0) this.#segments.delete(key);
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
        return (
          (key << SEGMENT_SHIFT) + (BigInt(segment.foundKey) << CHUNK_SHIFT) + BigInt(segment.foundPosition)
        );
      }
      index = (key + 1n) << SEGMENT_SHIFT;
    }
    return undefined;
  }

  /** Number fast path of {@link nextFree} for narrow bitmaps: the index, or -1. */
  nextFreeNumber(from: number): number {
    return from >= this.#narrowSize ? -1 : this.narrow!.nextFree(from);
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
    let total = 64;
    for (const segment of this.#segments.values()) total += segment.bytes + 48;
    return total;
  }
}
