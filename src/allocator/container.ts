/**
 * Containers of a chunked bitmap, as in a roaring bitmap: each holds the used positions of one
 * chunk of 2^16 indices. A chunk with few members is a sorted array (2 bytes per member), a crowded
 * one a bit array (8 KiB), so memory is about a bit per address in dense pools and a few bytes per
 * allocation in sparse ones.
 */

export const CHUNK_BITS = 16;
export const CHUNK_SIZE = 1 << CHUNK_BITS;
const WORDS = CHUNK_SIZE / 32;
/** At this many members an array takes as much memory as a bit array; it converts then. */
const ARRAY_LIMIT = 4096;
/** A bit array goes back to an array only well below the limit, so add/remove at the edge cannot thrash. */
const BITS_LOWER_LIMIT = ARRAY_LIMIT / 2;

/** Bits per group of a bit array's summary: 32 words, whose used count is kept up to date. */
const GROUP_BITS = 1024;
const GROUPS = CHUNK_SIZE / GROUP_BITS;

/** Index of the lowest set bit of a non-zero 32-bit word. */
function lowestBit(word: number): number {
  return 31 - Math.clz32(word & -word);
}

/** Index of the highest set bit of a non-zero 32-bit word. */
function highestBit(word: number): number {
  return 31 - Math.clz32(word);
}

/** Bits 0..bit of a word set (bit in 0..31). */
function bitsUpTo(bit: number): number {
  return (2 << bit) - 1;
}

/** Number of set bits of a 32-bit word. */
export function popcount(word: number): number {
  let x = word - ((word >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}

/** Position of the rank-th (0-based) set bit of a word that has more than rank set bits. */
function selectBit(word: number, rank: number): number {
  let x = word;
  for (let r = rank; r > 0; r--) x &= x - 1;
  return lowestBit(x);
}

export interface Container {
  readonly count: number;
  has(position: number): boolean;
  /** Adds a position; returns the container to keep (it may have converted) or undefined if present. */
  add(position: number): Container | undefined;
  /** Removes a position; returns the container to keep or undefined if it was absent. */
  remove(position: number): Container | undefined;
  /** Lowest absent position in `[from, limit)`, or -1. */
  nextAbsent(from: number, limit: number): number;
  /** Highest absent position at or below `from`, or -1. */
  prevAbsent(from: number): number;
  /** The `rank`-th (0-based) absent position, or -1 when fewer than rank + 1 are absent. */
  selectAbsent(rank: number): number;
  /** Number of present positions below `position`. */
  countBelow(position: number): number;
  /** Present positions in ascending order. */
  positions(): IterableIterator<number>;
  /** Approximate bytes held, for the benchmark and metrics. */
  readonly bytes: number;
}

export class ArrayContainer implements Container {
  count = 0;
  #values: Uint16Array;

  constructor(capacity = 4) {
    this.#values = new Uint16Array(capacity);
  }

  get bytes(): number {
    return this.#values.byteLength + 64;
  }

  /** Index of the first stored value >= position. */
  #search(position: number): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#values[mid]! < position) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  has(position: number): boolean {
    const i = this.#search(position);
    return i < this.count && this.#values[i] === position;
  }

  add(position: number): Container | undefined {
    const i = this.#search(position);
    if (i < this.count && this.#values[i] === position) return undefined;
    if (this.count === ARRAY_LIMIT) {
      const bits = BitsContainer.from(this);
      bits.add(position);
      return bits;
    }
    if (this.count === this.#values.length) {
      const grown = new Uint16Array(Math.min(ARRAY_LIMIT, this.#values.length * 2));
      grown.set(this.#values);
      this.#values = grown;
    }
    this.#values.copyWithin(i + 1, i, this.count);
    this.#values[i] = position;
    this.count++;
    return this;
  }

  remove(position: number): Container | undefined {
    const i = this.#search(position);
    if (i >= this.count || this.#values[i] !== position) return undefined;
    this.#values.copyWithin(i, i + 1, this.count);
    this.count--;
    return this;
  }

  nextAbsent(from: number, limit: number): number {
    let i = this.#search(from);
    let candidate = from;
    while (i < this.count && this.#values[i] === candidate) {
      candidate++;
      i++;
    }
    return candidate < limit ? candidate : -1;
  }

  prevAbsent(from: number): number {
    let i = this.#search(from);
    let candidate = from;
    while (i >= 0 && i < this.count && this.#values[i] === candidate) {
      candidate--;
      i--;
    }
    return candidate;
  }

  selectAbsent(rank: number): number {
    // values[i] − i is the number of absent positions below values[i], and never decreases: the
    // first i where it passes rank has exactly i present positions below the answer.
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#values[mid]! - mid <= rank) lo = mid + 1;
      else hi = mid;
    }
    const found = rank + lo;
    return found < CHUNK_SIZE ? found : -1;
  }

  countBelow(position: number): number {
    return this.#search(position);
  }

  *positions(): IterableIterator<number> {
    for (let i = 0; i < this.count; i++) yield this.#values[i]!;
  }
}

export class BitsContainer implements Container {
  count = 0;
  readonly #words = new Uint32Array(WORDS);
  /** Bit w set when word w is all ones: lets a search skip 32 full words at a time. */
  readonly #fullWords = new Uint32Array(WORDS / 32);
  /** Present positions per group of 1024: lets a select skip a group's 32 words at a time. */
  readonly #groupCounts = new Uint16Array(GROUPS);

  static from(source: Container): BitsContainer {
    const bits = new BitsContainer();
    for (const p of source.positions()) bits.add(p);
    return bits;
  }

  get bytes(): number {
    return this.#words.byteLength + this.#fullWords.byteLength + this.#groupCounts.byteLength + 64;
  }

  has(position: number): boolean {
    return ((this.#words[position >>> 5]! >>> (position & 31)) & 1) === 1;
  }

  add(position: number): Container | undefined {
    const w = position >>> 5;
    const bit = 1 << (position & 31);
    const word = this.#words[w]!;
    if ((word & bit) !== 0) return undefined;
    this.#words[w] = word | bit;
    this.count++;
    this.#groupCounts[position >>> 10]!++;
    if (this.#words[w] === 0xffff_ffff) this.#fullWords[w >>> 5]! |= 1 << (w & 31);
    return this;
  }

  remove(position: number): Container | undefined {
    const w = position >>> 5;
    const bit = 1 << (position & 31);
    const word = this.#words[w]!;
    if ((word & bit) === 0) return undefined;
    this.#words[w] = word & ~bit;
    this.#fullWords[w >>> 5]! &= ~(1 << (w & 31));
    this.count--;
    this.#groupCounts[position >>> 10]!--;
    if (this.count < BITS_LOWER_LIMIT) {
      const array = new ArrayContainer(BITS_LOWER_LIMIT);
      for (const p of this.positions()) array.add(p);
      return array;
    }
    return this;
  }

  nextAbsent(from: number, limit: number): number {
    if (from >= limit) return -1;
    let w = from >>> 5;
    // Treat the bits below `from` as present so they are not found.
    const free = ~(this.#words[w]! | ((1 << (from & 31)) - 1));
    let found = -1;
    if (free !== 0) found = (w << 5) + lowestBit(free);
    else {
      w++;
      while (w < WORDS) {
        const s = w >>> 5;
        const notFull = ~this.#fullWords[s]! & ~((1 << (w & 31)) - 1);
        if (notFull !== 0) {
          const word = (s << 5) + lowestBit(notFull);
          found = (word << 5) + lowestBit(~this.#words[word]!);
          break;
        }
        w = (s + 1) << 5;
      }
    }
    return found >= 0 && found < limit ? found : -1;
  }

  prevAbsent(from: number): number {
    if (from < 0) return -1;
    let w = from >>> 5;
    // Treat the bits above `from` as present so they are not found.
    const free = ~this.#words[w]! & bitsUpTo(from & 31);
    if (free !== 0) return (w << 5) + highestBit(free);
    w--;
    while (w >= 0) {
      const s = w >>> 5;
      const notFull = ~this.#fullWords[s]! & bitsUpTo(w & 31);
      if (notFull !== 0) {
        const word = (s << 5) + highestBit(notFull);
        return (word << 5) + highestBit(~this.#words[word]!);
      }
      w = (s << 5) - 1;
    }
    return -1;
  }

  selectAbsent(rank: number): number {
    let left = rank;
    let group = 0;
    for (; group < GROUPS; group++) {
      const absent = GROUP_BITS - this.#groupCounts[group]!;
      if (left < absent) break;
      left -= absent;
    }
    if (group === GROUPS) return -1;
    for (let w = group << 5; ; w++) {
      const absent = ~this.#words[w]!;
      const count = popcount(absent);
      if (left < count) return (w << 5) + selectBit(absent, left);
      left -= count;
    }
  }

  countBelow(position: number): number {
    let count = 0;
    const group = position >>> 10;
    for (let g = 0; g < group; g++) count += this.#groupCounts[g]!;
    const w = position >>> 5;
    for (let i = group << 5; i < w; i++) count += popcount(this.#words[i]!);
    if ((position & 31) !== 0) count += popcount(this.#words[w]! & ((1 << (position & 31)) - 1));
    return count;
  }

  *positions(): IterableIterator<number> {
    for (let w = 0; w < WORDS; w++) {
      let word = this.#words[w]!;
      while (word !== 0) {
        const b = lowestBit(word);
        yield (w << 5) + b;
        word &= word - 1;
      }
    }
  }
}
