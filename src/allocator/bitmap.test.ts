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
    }
    expect(bitmap.count).toBe(model.size);
    expect([...bitmap.entries()].map(([k, p]) => k * CHUNK_SIZE + p)).toEqual(
      [...model].sort((a, b) => a - b),
    );
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
