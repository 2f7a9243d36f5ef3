import { describe, expect, it } from 'vitest';
import { ChunkedBitmap, IndexBitmap } from './bitmap.js';
import { CHUNK_SIZE } from './container.js';

describe('ChunkedBitmap', () => {
  it('creates a chunk only for an index in use, and drops it when freed', () => {
    const bitmap = new ChunkedBitmap(10n * BigInt(CHUNK_SIZE));
    expect(bitmap.chunkCount).toBe(0);
    expect(bitmap.add(3 * CHUNK_SIZE + 7)).toBe(true);
    expect(bitmap.add(3 * CHUNK_SIZE + 7)).toBe(false);
    expect(bitmap.chunkCount).toBe(1);
    expect(bitmap.remove(3 * CHUNK_SIZE + 7)).toBe(true);
    expect(bitmap.remove(3 * CHUNK_SIZE + 7)).toBe(false);
    expect(bitmap.chunkCount).toBe(0);
    expect(bitmap.count).toBe(0);
  });

  it('jumps over full chunks and stops at a partial last chunk', () => {
    const size = 3 * CHUNK_SIZE + 10;
    const bitmap = new ChunkedBitmap(BigInt(size));
    for (let i = 0; i < size; i++) bitmap.add(i);
    expect(bitmap.nextFree(0)).toBe(-1);
    bitmap.remove(CHUNK_SIZE + 5);
    expect(bitmap.nextFree(0)).toBe(CHUNK_SIZE + 5);
    expect(bitmap.nextFree(CHUNK_SIZE + 6)).toBe(-1);
    bitmap.add(CHUNK_SIZE + 5);
    bitmap.remove(size - 1);
    expect(bitmap.nextFree(0)).toBe(size - 1);
    expect(() => bitmap.add(size)).toThrow(RangeError);
  });

  it('handles an empty space and a space of one', () => {
    expect(new ChunkedBitmap(0n).nextFree(0)).toBe(-1);
    const one = new ChunkedBitmap(1n);
    expect(one.nextFree(0)).toBe(0);
    one.add(0);
    expect(one.nextFree(0)).toBe(-1);
  });

  it('agrees with a plain set on random operations, across chunk edges and full runs', () => {
    let seed = 11;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const size = 5 * CHUNK_SIZE + 123;
    const bitmap = new ChunkedBitmap(BigInt(size));
    const model = new Set<number>();
    // Fill chunks 1 and 2 entirely and most of 3, so runs form, merge and split.
    for (let i = CHUNK_SIZE; i < 3 * CHUNK_SIZE + 60_000; i++) {
      bitmap.add(i);
      model.add(i);
    }
    for (let step = 0; step < 30_000; step++) {
      const index = random(4) === 0 ? random(size) : CHUNK_SIZE - 50 + random(2 * CHUNK_SIZE + 100);
      if (random(2) === 0) {
        const wasFree = !model.has(index);
        model.add(index);
        expect(bitmap.add(index)).toBe(wasFree);
      } else {
        expect(bitmap.remove(index)).toBe(model.delete(index));
      }
      if (step % 50 === 0) {
        const from = random(size);
        let expected = from;
        while (model.has(expected)) expected++;
        expect(bitmap.nextFree(from)).toBe(expected < size ? expected : -1);
      }
      if (step % 150 === 0) {
        const from = random(size);
        let below = from;
        while (below >= 0 && model.has(below)) below--;
        expect(bitmap.prevFree(from)).toBe(below);
      }
    }
    expect(bitmap.count).toBe(model.size);
    expect([...bitmap.entries()].map(([k, p]) => k * CHUNK_SIZE + p)).toEqual(
      [...model].sort((a, b) => a - b),
    );
  });
});

describe('ChunkedBitmap, previous free', () => {
  it('jumps down over full chunks and starts from a partial last chunk', () => {
    const size = 3 * CHUNK_SIZE + 10;
    const bitmap = new ChunkedBitmap(BigInt(size));
    expect(bitmap.prevFree(size + 100)).toBe(size - 1);
    for (let i = 0; i < size; i++) bitmap.add(i);
    expect(bitmap.prevFree(size - 1)).toBe(-1);
    bitmap.remove(5);
    expect(bitmap.prevFree(size - 1)).toBe(5);
    expect(bitmap.prevFree(4)).toBe(-1);
    expect(bitmap.prevFree(-1)).toBe(-1);
    expect(new ChunkedBitmap(0n).prevFree(0)).toBe(-1);
  });
});

/** Free indices below i and the k-th free index, from a sorted list of the used ones. */
function rankModel(size: bigint, used: readonly bigint[]) {
  const sorted = [...used].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const usedBelow = (i: bigint) => {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sorted[mid]! < i) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  return {
    free: size - BigInt(sorted.length),
    freeBelow: (i: bigint) => i - BigInt(usedBelow(i)),
    select(k: bigint): bigint {
      // The answer is k plus the used indices below it: walk the used ones in order.
      let answer = k;
      for (const u of sorted) if (u <= answer) answer++;
      return answer;
    },
  };
}

describe('ranked bitmaps: free counts, select and rank', () => {
  it('select the k-th free index and count free ones below, in a narrow bitmap', () => {
    let seed = 17;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const size = 6 * CHUNK_SIZE + 77;
    const bitmap = new IndexBitmap(BigInt(size), { ranked: true });
    const used = new Set<number>();
    // Chunk 1 full (a run), chunk 2 dense (bit array), chunks 4 and 6 sparse, chunk 5 absent.
    for (let i = CHUNK_SIZE; i < 2 * CHUNK_SIZE; i++) used.add(i);
    for (let i = 0; i < 30_000; i++) used.add(2 * CHUNK_SIZE + random(CHUNK_SIZE));
    for (let i = 0; i < 40; i++) used.add(4 * CHUNK_SIZE + random(CHUNK_SIZE));
    for (let i = 0; i < 70; i++) used.add(6 * CHUNK_SIZE + random(77));
    for (const i of used) bitmap.add(BigInt(i));
    for (let step = 0; step < 3; step++) {
      const model = rankModel(BigInt(size), [...used].map(BigInt));
      expect(bitmap.free).toBe(model.free);
      for (let probe = 0; probe < 100; probe++) {
        const k = BigInt(random(Number(model.free)));
        const selected = bitmap.selectFree(k);
        expect(selected).toBe(model.select(k));
        expect(bitmap.freeBelow(selected)).toBe(k);
        const i = BigInt(random(size + 1));
        expect(bitmap.freeBelow(i)).toBe(model.freeBelow(i));
      }
      expect(bitmap.selectFree(model.free - 1n)).toBe(bitmap.prevFree(BigInt(size)));
      expect(() => bitmap.selectFree(model.free)).toThrow(RangeError);
      // Free some, so chunks change shape (bit array back to array, the run broken).
      for (const i of [...used].filter((_, n) => n % 3 === step)) {
        bitmap.remove(BigInt(i));
        used.delete(i);
      }
    }
  });

  it('select and rank across the segments of a whole IPv6 space, with bigint ranks', () => {
    const size = 1n << 128n;
    const bitmap = new IndexBitmap(size, { ranked: true });
    const edge = 1n << 69n;
    const used = [0n, 1n, 2n, 70_000n, edge - 1n, edge, edge + 5n, 3n * edge + 1n, size - 2n, size - 1n];
    for (const i of used) bitmap.add(i);
    const model = rankModel(size, used);
    expect(bitmap.free).toBe(model.free);
    const ranks = [
      0n,
      1n,
      69_996n,
      69_997n,
      edge - 5n,
      edge - 4n,
      edge - 3n,
      3n * edge - 7n,
      model.free - 1n,
    ];
    for (const k of ranks) {
      expect(bitmap.selectFree(k)).toBe(model.select(k));
      expect(bitmap.freeBelow(model.select(k))).toBe(k);
    }
    for (const i of [0n, 3n, edge, edge + 1n, edge + 6n, 2n * edge, size - 2n, size]) {
      expect(bitmap.freeBelow(i)).toBe(model.freeBelow(i));
    }
    expect(bitmap.prevFree(size - 1n)).toBe(size - 3n);
    expect(bitmap.prevFree(edge)).toBe(edge - 2n);
    expect(bitmap.prevFree(2n)).toBeUndefined();
    for (const i of used) bitmap.remove(i);
    expect(bitmap.selectFree(size - 1n)).toBe(size - 1n);
    expect(bitmap.bytes).toBeLessThan(2000);
  });

  it('select in a /64-sized space where a chunk number times 2^16 is past 2^53', () => {
    const size = (1n << 64n) - 2n;
    const bitmap = new IndexBitmap(size, { ranked: true });
    const high = size - 100n;
    for (let i = 0n; i < 70_000n; i++) bitmap.add(i);
    for (let i = high; i < high + 50n; i++) bitmap.add(i);
    expect(bitmap.selectFree(0n)).toBe(70_000n);
    expect(bitmap.selectFree(high - 70_000n)).toBe(high + 50n);
    expect(bitmap.selectFree(high - 70_001n)).toBe(high - 1n);
    expect(bitmap.freeBelow(high + 60n)).toBe(high - 70_000n + 10n);
  });

  it('are not kept by a bitmap that was not asked for them', () => {
    const bitmap = new IndexBitmap(100n);
    expect(bitmap.ranked).toBe(false);
    expect(() => bitmap.selectFree(0n)).toThrow(/ranked/);
  });
});

describe('IndexBitmap', () => {
  it('takes the number path for spaces up to 2^53 and bigint segments beyond', () => {
    expect(new IndexBitmap(1n << 32n).narrow).toBeDefined();
    expect(new IndexBitmap(1n << 64n).narrow).toBeUndefined();
  });

  it('works across segment edges of a full IPv6 space, with memory following the allocations', () => {
    const size = 1n << 128n;
    const bitmap = new IndexBitmap(size);
    const edge = 1n << 69n;
    for (const index of [0n, edge - 1n, edge, edge + 1n, size - 1n]) expect(bitmap.add(index)).toBe(true);
    expect(bitmap.add(edge)).toBe(false);
    expect(bitmap.count).toBe(5);
    expect(bitmap.nextFree(0n)).toBe(1n);
    expect(bitmap.nextFree(edge - 1n)).toBe(edge + 2n);
    expect(bitmap.nextFree(size - 1n)).toBeUndefined();
    expect([...bitmap.values()]).toEqual([0n, edge - 1n, edge, edge + 1n, size - 1n]);
    expect(bitmap.has(edge + 1n)).toBe(true);
    expect(bitmap.remove(edge + 1n)).toBe(true);
    expect(bitmap.has(edge + 1n)).toBe(false);
    expect(bitmap.bytes).toBeLessThan(2000);
    expect(() => bitmap.add(size)).toThrow(RangeError);
  });

  it('finds the next free index of a huge space when the low indices are taken', () => {
    const bitmap = new IndexBitmap((1n << 64n) - 1n);
    for (let i = 0n; i < 70_000n; i++) bitmap.add(i);
    expect(bitmap.nextFree(0n)).toBe(70_000n);
    bitmap.remove(65_536n);
    expect(bitmap.nextFree(0n)).toBe(65_536n);
  });
});
