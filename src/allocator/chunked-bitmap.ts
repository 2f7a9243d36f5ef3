/**
 * The used/free bitmap of one space of up to 2^69 indices, in chunks of 2^16 keyed by a `number`.
 *
 * A chunk exists only while it holds a used index: a lone index is stored as a bare number (no
 * object at all, which is what keeps scattered reservations in an IPv6 /64 cheap), a few as a
 * sorted array, many as a bit array. Chunks that are entirely used are also kept as sorted runs of
 * chunk keys ({@link FullRuns}), so "next free at or after i" and "previous free at or before i"
 * jump over a full region in one step.
 *
 * A ranked bitmap (the Random strategy's) also keeps the used count of every chunk in a
 * {@link CountTree}: the number of free indices below any index and the k-th free index are then
 * O(log chunks) plus a search inside one chunk. Other strategies do not pay for it.
 */
import { ArrayContainer, CHUNK_SIZE, type Container } from './container.js';
import { CountTree } from './count-tree.js';
import { FullRuns } from './full-runs.js';

const CHUNK_SHIFT = 16n;
const CHUNK_MASK = 0xffffn;
const MAX_SIZE = 1n << 69n;

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
  readonly #runs = new FullRuns();
  /** Used count per chunk key, when ranked. */
  readonly #used: CountTree<number> | undefined;
  // The chunk touched last: allocation walks one chunk at a time, so this saves most map lookups.
  #cachedKey = -1;
  #cachedChunk: Chunk | undefined;
  /** Result of the `…At` searches, kept in fields so the hot path allocates nothing. */
  foundKey = 0;
  foundPosition = 0;

  constructor(size: bigint, ranked = false) {
    if (size < 0n || size > MAX_SIZE) throw new RangeError(`bitmap size ${size} outside [0, 2^69]`);
    this.size = size;
    this.#sizeNumber = Number(size);
    this.#lastKey = Number((size - 1n) >> CHUNK_SHIFT);
    this.#lastCapacity = size === 0n ? 0 : Number(size - (BigInt(this.#lastKey) << CHUNK_SHIFT));
    if (ranked) this.#used = new CountTree<number>(-1);
  }

  get ranked(): boolean {
    return this.#used !== undefined;
  }

  /** Free indices; exact while size <= 2^53 (the number face). */
  get free(): number {
    return this.#sizeNumber - this.count;
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
    if (this.#used !== undefined) {
      if (chunk === undefined) this.#used.insert(key, 1);
      else this.#used.adjust(key, 1);
    }
    if (chunkCount(next) === this.#capacity(key)) this.#runs.markFull(key);
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
    if (this.#used !== undefined) {
      if (next === undefined) this.#used.delete(key);
      else this.#used.adjust(key, -1);
    }
    if (wasFull) this.#runs.markNotFull(key);
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
      const run = this.#runs.runOf(k);
      if (run >= 0) {
        k = this.#runs.endOf(run) + 1;
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

  /**
   * Finds the highest free position at or before (key, position), the mirror of
   * {@link nextFreeAt}; the caller keeps (key, position) inside the space.
   */
  prevFreeAt(key: number, position: number): boolean {
    let k = key;
    let p = position;
    while (k >= 0) {
      const run = this.#runs.runOf(k);
      if (run >= 0) {
        k = this.#runs.startOf(run) - 1;
        p = CHUNK_SIZE - 1;
        continue;
      }
      const capacity = this.#capacity(k);
      if (p >= capacity) p = capacity - 1;
      const chunk = this.#chunk(k);
      let found: number;
      if (chunk === undefined) found = p;
      else if (typeof chunk === 'number') found = chunk === p ? p - 1 : p;
      else found = chunk.prevAbsent(p);
      if (found >= 0) {
        this.foundKey = k;
        this.foundPosition = found;
        return true;
      }
      k--;
      p = CHUNK_SIZE - 1;
    }
    return false;
  }

  /** Used indices below (key, position); needs a ranked bitmap. */
  usedBelowAt(key: number, position: number): number {
    const below = this.#ranks().sumBelow(key);
    const chunk = this.#chunk(key);
    if (chunk === undefined) return below;
    if (typeof chunk === 'number') return below + (chunk < position ? 1 : 0);
    return below + chunk.countBelow(position);
  }

  /**
   * Finds the `rank`-th (0-based) free index of the space and sets `foundKey` and `foundPosition`;
   * `rank` is a bigint because a segment of 2^69 indices can have more free than a number holds.
   * Needs a ranked bitmap and rank < the free count.
   */
  selectFreeAt(rank: bigint): void {
    this.#select(Number(rank >> CHUNK_SHIFT), Number(rank & CHUNK_MASK));
  }

  /**
   * The descent behind every select, for rank = rankHigh · 2^16 + rankLow. Written so that every
   * number stays exact below 2^53 even in a segment of 2^69 indices, where a rank, or the free
   * count before a chunk (key · 2^16 − used), would not: the chunk key and rankHigh are compared
   * directly, and the low parts carried apart. That keeps bigint arithmetic, which allocates, out
   * of the loop.
   */
  #select(rankHigh: number, rankLow: number): void {
    const tree = this.#ranks();
    let node = tree.root;
    let usedBefore = 0; // used indices in the chunks left of the current subtree
    while (node !== 0) {
      const key = tree.key(node);
      const usedLeft = usedBefore + tree.sum(tree.left(node));
      // rank >= key · 2^16 − usedLeft  ⇔  rankHigh · 2^16 + carry >= key · 2^16, carry = rankLow + usedLeft
      const carry = rankLow + usedLeft;
      if (rankHigh + Math.floor(carry / CHUNK_SIZE) < key) {
        node = tree.left(node);
        continue;
      }
      // rank − (free before chunk key), exact when small, and huge (never below a capacity) when not.
      const local = (rankHigh - key) * CHUNK_SIZE + carry;
      if (local < this.#capacity(key) - tree.count(node)) {
        this.foundKey = key;
        this.foundPosition = this.#selectInChunk(key, local);
        return;
      }
      usedBefore = usedLeft + tree.count(node);
      node = tree.right(node);
    }
    // Between two chunks that exist, or past the last: every chunk there is absent, so all free.
    const carry = rankLow + usedBefore;
    this.foundKey = rankHigh + Math.floor(carry / CHUNK_SIZE);
    this.foundPosition = carry % CHUNK_SIZE;
  }

  /** The `rank`-th (0-based) position free in chunk `key`, which has more than `rank` free. */
  #selectInChunk(key: number, rank: number): number {
    const chunk = this.#chunk(key);
    if (chunk === undefined) return rank;
    if (typeof chunk === 'number') return rank < chunk ? rank : rank + 1;
    return chunk.selectAbsent(rank);
  }

  #ranks(): CountTree<number> {
    if (this.#used === undefined) throw new Error('free counts are kept only by a ranked bitmap');
    return this.#used;
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

  /** Highest free index at or before `from`, or -1. */
  prevFree(from: number): number {
    const start = from >= this.#sizeNumber ? this.#sizeNumber - 1 : from;
    if (start < 0 || !this.prevFreeAt(Math.floor(start / CHUNK_SIZE), start & (CHUNK_SIZE - 1))) return -1;
    return this.foundKey * CHUNK_SIZE + this.foundPosition;
  }

  /** Number of free indices below `index` (all of them for index >= size); needs a ranked bitmap. */
  freeBelow(index: number): number {
    if (index <= 0) return 0;
    if (index >= this.#sizeNumber) return this.free;
    return index - this.usedBelowAt(Math.floor(index / CHUNK_SIZE), index & (CHUNK_SIZE - 1));
  }

  /** The `rank`-th (0-based) free index; needs a ranked bitmap and 0 <= rank < free. */
  selectFree(rank: number): number {
    if (!(rank >= 0 && rank < this.free)) throw new RangeError(`rank ${rank} outside [0, ${this.free})`);
    this.#select(Math.floor(rank / CHUNK_SIZE), rank % CHUNK_SIZE);
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

  /** Approximate bytes held: map entries, containers, the full-run summary and the free counts. */
  get bytes(): number {
    let total = 64 + this.#runs.length * 16 + this.#chunks.size * 40 + (this.#used?.bytes ?? 0);
    for (const chunk of this.#chunks.values()) if (typeof chunk !== 'number') total += chunk.bytes;
    return total;
  }
}
