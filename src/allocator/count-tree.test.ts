import { describe, expect, it } from 'vitest';
import { CountTree } from './count-tree.js';

function lcg(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
}

describe('CountTree', () => {
  it('agrees with a plain map on random inserts, adjustments and deletions', () => {
    const random = lcg(5);
    const tree = new CountTree<number>(-1);
    const model = new Map<number, number>();
    for (let step = 0; step < 20_000; step++) {
      const key = random(3_000);
      const count = model.get(key);
      if (count === undefined) {
        const start = 1 + random(100);
        tree.insert(key, start);
        model.set(key, start);
      } else if (random(3) === 0) {
        tree.delete(key);
        model.delete(key);
      } else {
        const delta = random(2) === 0 ? 1 : -1;
        tree.adjust(key, delta);
        model.set(key, count + delta);
      }
      if (step % 101 === 0) {
        const probe = random(3_100);
        let below = 0;
        for (const [k, c] of model) if (k < probe) below += c;
        expect(tree.sumBelow(probe)).toBe(below);
      }
    }
    expect(tree.size).toBe(model.size);
    expect(tree.total).toBe([...model.values()].reduce((a, b) => a + b, 0));
    // An in-order walk gives the keys sorted, each node's sum is its subtree's.
    const keys: number[] = [];
    const walk = (node: number): number => {
      if (node === 0) return 0;
      const left = walk(tree.left(node));
      keys.push(tree.key(node));
      const sum = left + tree.count(node) + walk(tree.right(node));
      expect(tree.sum(node)).toBe(sum);
      return sum;
    };
    walk(tree.root);
    expect(keys).toEqual([...model.keys()].sort((a, b) => a - b));
  });

  it('stays shallow when keys arrive in order, as chunks of a filling pool do', () => {
    const tree = new CountTree<number>(-1);
    for (let key = 0; key < 100_000; key++) tree.insert(key, 1);
    const depth = (node: number): number =>
      node === 0 ? 0 : 1 + Math.max(depth(tree.left(node)), depth(tree.right(node)));
    expect(depth(tree.root)).toBeLessThan(60);
    for (let key = 0; key < 100_000; key += 2) tree.delete(key);
    expect(tree.size).toBe(50_000);
    expect(tree.sumBelow(100_000)).toBe(50_000);
  });

  it('takes bigint keys beyond 2^53 and refuses keys that are not there', () => {
    const tree = new CountTree<bigint>(-1n);
    const big = 1n << 58n;
    tree.insert(big + 1n, 3);
    tree.insert(big, 2);
    tree.adjust(big + 1n, 1);
    expect(tree.sumBelow(big + 1n)).toBe(2);
    expect(tree.sumBelow(big + 2n)).toBe(6);
    expect(() => tree.adjust(big + 5n, 1)).toThrow();
    expect(() => tree.delete(big + 5n)).toThrow();
    tree.delete(big);
    expect(tree.total).toBe(4);
  });
});
