import { describe, expect, it } from 'vitest';
import { ArrayContainer, BitsContainer, CHUNK_SIZE, type Container, popcount } from './container.js';

function addAll(start: Container, positions: Iterable<number>): Container {
  let container = start;
  for (const p of positions) container = container.add(p) ?? container;
  return container;
}

describe('containers', () => {
  it('keep a few positions as a sorted array and answer next-absent across runs', () => {
    const c = addAll(new ArrayContainer(), [5, 3, 4, 9]);
    expect(c).toBeInstanceOf(ArrayContainer);
    expect([...c.positions()]).toEqual([3, 4, 5, 9]);
    expect(c.nextAbsent(0, CHUNK_SIZE)).toBe(0);
    expect(c.nextAbsent(3, CHUNK_SIZE)).toBe(6);
    expect(c.nextAbsent(9, CHUNK_SIZE)).toBe(10);
    expect(c.nextAbsent(9, 10)).toBe(-1);
  });

  it('report an add of a present position and a remove of an absent one', () => {
    const c = addAll(new ArrayContainer(), [1]);
    expect(c.add(1)).toBeUndefined();
    expect(c.remove(2)).toBeUndefined();
    expect(c.remove(1)).toBe(c);
    expect(c.count).toBe(0);
  });

  it('turn into a bit array past 4096 positions and back below 2048', () => {
    let c: Container = addAll(
      new ArrayContainer(),
      Array.from({ length: 4097 }, (_, i) => i * 2),
    );
    expect(c).toBeInstanceOf(BitsContainer);
    expect(c.count).toBe(4097);
    for (let i = 0; i < 2050; i++) c = c.remove(i * 2) ?? c;
    expect(c).toBeInstanceOf(ArrayContainer);
    expect(c.count).toBe(2047);
    expect([...c.positions()][0]).toBe(4100);
  });

  it('find the next absent position in a bit array, skipping full words and ending at the limit', () => {
    const full = addAll(
      new BitsContainer(),
      Array.from({ length: CHUNK_SIZE }, (_, i) => i),
    );
    expect(full.count).toBe(CHUNK_SIZE);
    expect(full.nextAbsent(0, CHUNK_SIZE)).toBe(-1);
    const c = full.remove(40_000)!;
    expect(c.nextAbsent(0, CHUNK_SIZE)).toBe(40_000);
    expect(c.nextAbsent(40_000, CHUNK_SIZE)).toBe(40_000);
    expect(c.nextAbsent(40_001, CHUNK_SIZE)).toBe(-1);
    expect(c.nextAbsent(0, 40_000)).toBe(-1);
    expect(c.remove(31)?.nextAbsent(0, CHUNK_SIZE)).toBe(31);
  });

  it('agree with a plain set on random operations', () => {
    let seed = 3;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (const span of [300, 9000, CHUNK_SIZE]) {
      let c: Container = new ArrayContainer();
      const model = new Set<number>();
      for (let step = 0; step < 20_000; step++) {
        const p = random(span);
        if (random(3) === 0) {
          expect(c.remove(p) !== undefined).toBe(model.delete(p));
          c = c.remove(p) ?? c;
        } else {
          const next = c.add(p);
          expect(next !== undefined).toBe(!model.has(p));
          model.add(p);
          c = next ?? c;
        }
        expect(c.count).toBe(model.size);
        if (step % 97 === 0) {
          const from = random(span);
          let expected = from;
          while (model.has(expected)) expected++;
          expect(c.nextAbsent(from, span)).toBe(expected < span ? expected : -1);
          expect(c.has(from)).toBe(model.has(from));
          let below = from;
          while (below >= 0 && model.has(below)) below--;
          expect(c.prevAbsent(from)).toBe(below);
          const present = [...model].filter((p) => p < from).length;
          expect(c.countBelow(from)).toBe(present);
          // The absent position of rank (from − present) is the first absent one at or after from.
          expect(c.selectAbsent(from - present)).toBe(expected);
        }
      }
      expect([...c.positions()]).toEqual([...model].sort((a, b) => a - b));
    }
  });

  it('find the previous absent position, skipping full words downwards', () => {
    const full = addAll(
      new BitsContainer(),
      Array.from({ length: CHUNK_SIZE }, (_, i) => i),
    );
    expect(full.prevAbsent(CHUNK_SIZE - 1)).toBe(-1);
    const c = full.remove(1_000)!;
    expect(c.prevAbsent(CHUNK_SIZE - 1)).toBe(1_000);
    expect(c.prevAbsent(1_000)).toBe(1_000);
    expect(c.prevAbsent(999)).toBe(-1);
    expect(c.remove(0)?.prevAbsent(999)).toBe(0);
    const array = addAll(new ArrayContainer(), [0, 1, 2, 7, 8]);
    expect(array.prevAbsent(8)).toBe(6);
    expect(array.prevAbsent(2)).toBe(-1);
    expect(array.prevAbsent(5)).toBe(5);
  });

  it('select the k-th absent position and count the present ones below a position', () => {
    const array = addAll(new ArrayContainer(), [0, 1, 5, 6, 7, 10]);
    expect([0, 1, 2, 3, 4, 5].map((k) => array.selectAbsent(k))).toEqual([2, 3, 4, 8, 9, 11]);
    expect(array.selectAbsent(CHUNK_SIZE - 6)).toBe(-1);
    expect(array.countBelow(6)).toBe(3);
    const bits = addAll(
      new BitsContainer(),
      Array.from({ length: CHUNK_SIZE - 3 }, (_, i) => i + 1),
    );
    // Absent: 0, CHUNK_SIZE − 2, CHUNK_SIZE − 1.
    expect([0, 1, 2, 3].map((k) => bits.selectAbsent(k))).toEqual([0, CHUNK_SIZE - 2, CHUNK_SIZE - 1, -1]);
    expect(bits.countBelow(CHUNK_SIZE)).toBe(CHUNK_SIZE - 3);
    expect(bits.countBelow(1)).toBe(0);
    expect(bits.countBelow(1025)).toBe(1024);
  });

  it('count bits of any 32-bit word', () => {
    expect([0, 1, 0xff, 0x8000_0000, 0xffff_ffff, -1, 0x5555_5555].map(popcount)).toEqual([
      0, 1, 8, 1, 32, 32, 16,
    ]);
  });
});
