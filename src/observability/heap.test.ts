import { describe, expect, it } from 'vitest';
import { HeapStrategy, LARGE_CACHE_OBJECTS } from './heap.js';

describe('HeapStrategy', () => {
  it('favours memory for a large cache and speed for a small one, without flapping', () => {
    const heap = new HeapStrategy();
    expect(heap.memoryFirst).toBe(false);
    expect(heap.update(100)).toBe(false);
    expect(heap.update(LARGE_CACHE_OBJECTS)).toBe(true);
    expect(heap.memoryFirst).toBe(true);
    expect(heap.update(100)).toBe(true);
    expect(heap.memoryFirst).toBe(false);
    // Between half the threshold and the threshold nothing changes, whichever way it came from.
    expect(heap.update(LARGE_CACHE_OBJECTS - 1)).toBe(false);
    expect(heap.update(LARGE_CACHE_OBJECTS)).toBe(true);
    expect(heap.memoryFirst).toBe(true);
    expect(heap.update(LARGE_CACHE_OBJECTS / 2)).toBe(false);
    expect(heap.update(LARGE_CACHE_OBJECTS / 2 - 1)).toBe(true);
    expect(heap.memoryFirst).toBe(false);
  });
});
