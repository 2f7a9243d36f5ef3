import { describe, expect, it } from 'vitest';
import { IntervalSet } from '../ip/index.js';
import { IndexSpace } from './index-space.js';

describe('IndexSpace', () => {
  const space = new IndexSpace(
    IntervalSet.of([
      { first: 100n, last: 102n },
      { first: 10n, last: 11n },
      { first: 50n, last: 50n },
    ]),
  );

  it('lays the sorted ranges end to end, lowest address at index 0', () => {
    expect(space.size).toBe(6n);
    expect([0n, 1n, 2n, 3n, 4n, 5n].map((i) => space.valueAt(i))).toEqual([10n, 11n, 50n, 100n, 101n, 102n]);
  });

  it('maps addresses back to their index and refuses addresses between ranges', () => {
    expect([10n, 11n, 50n, 100n, 102n].map((v) => space.indexOf(v))).toEqual([0n, 1n, 2n, 3n, 5n]);
    expect(space.indexOf(12n)).toBeUndefined();
    expect(space.indexOf(103n)).toBeUndefined();
  });

  it('answers in any order, not only forwards', () => {
    expect([5n, 0n, 3n, 2n, 4n].map((i) => space.valueAt(i))).toEqual([102n, 10n, 100n, 50n, 101n]);
    expect(() => space.valueAt(6n)).toThrow(RangeError);
  });

  it('finds the index of the nearest address at or below a value, in the set or not', () => {
    // Indices: 10→0, 11→1, 50→2, 100→3, 101→4, 102→5.
    expect([9n, 10n, 11n, 12n, 49n, 50n, 99n, 101n, 102n, 5000n].map((v) => space.indexAtOrBelow(v))).toEqual(
      [undefined, 0n, 1n, 1n, 1n, 2n, 2n, 4n, 5n, 5n],
    );
  });
});
