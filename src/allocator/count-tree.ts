/**
 * Used counts by key, for the free counts a uniform random pick needs: a bitmap keeps one tree over
 * its chunks (keys are chunk numbers) and, in huge spaces, one over its segments (bigint keys).
 * Only keys that hold something are in the tree; a missing key is entirely free, so free counts in
 * absent chunks are implied by their capacity and memory follows the allocations, not the space.
 *
 * A treap ordered by key whose every node also holds the sum of its subtree: the used count below
 * any key, and the descent that finds the chunk holding the k-th free index, are O(log n) in the
 * number of keys present. Nodes live in typed arrays (node 0 is "none", with count and sum 0), so
 * a million chunks cost a few tens of megabytes and no object each. Priorities come from a fixed
 * pseudo-random sequence: balance needs them independent of the keys, not unpredictable.
 */
export class CountTree<K extends number | bigint> {
  readonly #keys: K[] = [];
  #counts = new Float64Array(8);
  #sums = new Float64Array(8);
  #left = new Int32Array(8);
  #right = new Int32Array(8);
  #priorities = new Int32Array(8);
  readonly #vacant: number[] = [];
  #nodes = 1;
  #seed = 0x2545f491;
  /** The root node, 0 when empty. Read with the accessors below to walk the tree. */
  root = 0;
  // The two halves a split returns, in fields so that splitting allocates nothing.
  #lower = 0;
  #upper = 0;

  constructor(placeholder: K) {
    this.#keys.push(placeholder);
  }

  key(node: number): K {
    return this.#keys[node]!;
  }

  count(node: number): number {
    return this.#counts[node]!;
  }

  /** Sum of the counts in the subtree of `node` (0 for no node). */
  sum(node: number): number {
    return this.#sums[node]!;
  }

  left(node: number): number {
    return this.#left[node]!;
  }

  right(node: number): number {
    return this.#right[node]!;
  }

  /** Number of keys present. */
  get size(): number {
    return this.#nodes - 1 - this.#vacant.length;
  }

  /** Sum of every count. */
  get total(): number {
    return this.#sums[this.root]!;
  }

  /** Adds `delta` to the count of a key that is present. */
  adjust(key: K, delta: number): void {
    let node = this.root;
    while (node !== 0) {
      this.#sums[node]! += delta;
      const here = this.#keys[node]!;
      if (key === here) {
        this.#counts[node]! += delta;
        return;
      }
      node = key < here ? this.#left[node]! : this.#right[node]!;
    }
    // Not there: undo the sums on the way down before saying so (a second walk only on error).
    for (
      node = this.root;
      node !== 0;
      node = key < this.#keys[node]! ? this.#left[node]! : this.#right[node]!
    ) {
      this.#sums[node]! -= delta;
    }
    throw new Error(`count tree: key ${key} is not present`);
  }

  /**
   * Adds a key that is not present, with its count. The new node goes down only as far as its
   * priority allows, and only the subtree below it is split: expected O(1) restructuring, after
   * an O(log n) descent.
   */
  insert(key: K, count: number): void {
    const node = this.#newNode(key, count);
    const priority = this.#priorities[node]!;
    let parent = 0;
    let onLeft = false;
    let current = this.root;
    while (current !== 0 && this.#priorities[current]! > priority) {
      this.#sums[current]! += count;
      parent = current;
      onLeft = key < this.#keys[current]!;
      current = onLeft ? this.#left[current]! : this.#right[current]!;
    }
    this.#split(current, key);
    this.#left[node] = this.#lower;
    this.#right[node] = this.#upper;
    this.#update(node);
    this.#attach(parent, onLeft, node);
  }

  /** Removes a key that is present: its children are merged in its place. */
  delete(key: K): void {
    let parent = 0;
    let onLeft = false;
    let current = this.root;
    while (current !== 0 && this.#keys[current] !== key) {
      parent = current;
      onLeft = key < this.#keys[current]!;
      current = onLeft ? this.#left[current]! : this.#right[current]!;
    }
    if (current === 0) throw new Error(`count tree: key ${key} is not present`);
    const count = this.#counts[current]!;
    for (let n = this.root; n !== current; n = key < this.#keys[n]! ? this.#left[n]! : this.#right[n]!) {
      this.#sums[n]! -= count;
    }
    this.#attach(parent, onLeft, this.#merge(this.#left[current]!, this.#right[current]!));
    this.#vacant.push(current);
  }

  #attach(parent: number, onLeft: boolean, node: number): void {
    if (parent === 0) this.root = node;
    else if (onLeft) this.#left[parent] = node;
    else this.#right[parent] = node;
  }

  /** Sum of the counts of the keys below `key`. */
  sumBelow(key: K): number {
    let sum = 0;
    let node = this.root;
    while (node !== 0) {
      if (key <= this.#keys[node]!) node = this.#left[node]!;
      else {
        sum += this.#sums[this.#left[node]!]! + this.#counts[node]!;
        node = this.#right[node]!;
      }
    }
    return sum;
  }

  /** Splits the subtree of `node` into keys below `key` (#lower) and the others (#upper). */
  #split(node: number, key: K): void {
    if (node === 0) {
      this.#lower = 0;
      this.#upper = 0;
      return;
    }
    if (this.#keys[node]! < key) {
      this.#split(this.#right[node]!, key);
      this.#right[node] = this.#lower;
      this.#update(node);
      this.#lower = node;
    } else {
      this.#split(this.#left[node]!, key);
      this.#left[node] = this.#upper;
      this.#update(node);
      this.#upper = node;
    }
  }

  /** Joins two subtrees, every key of `a` below every key of `b`. */
  #merge(a: number, b: number): number {
    if (a === 0) return b;
    if (b === 0) return a;
    if (this.#priorities[a]! > this.#priorities[b]!) {
      this.#right[a] = this.#merge(this.#right[a]!, b);
      this.#update(a);
      return a;
    }
    this.#left[b] = this.#merge(a, this.#left[b]!);
    this.#update(b);
    return b;
  }

  #update(node: number): void {
    this.#sums[node] = this.#counts[node]! + this.#sums[this.#left[node]!]! + this.#sums[this.#right[node]!]!;
  }

  #newNode(key: K, count: number): number {
    let node = this.#vacant.pop();
    if (node === undefined) {
      node = this.#nodes++;
      if (node === this.#counts.length) this.#grow();
      this.#keys.push(key);
    } else this.#keys[node] = key;
    this.#counts[node] = count;
    this.#sums[node] = count;
    this.#left[node] = 0;
    this.#right[node] = 0;
    // xorshift32: a fixed sequence, so the tree's shape (and a benchmark) is the same every run.
    let x = this.#seed;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#seed = x;
    this.#priorities[node] = x;
    return node;
  }

  #grow(): void {
    const length = this.#counts.length * 2;
    const grow = <T extends Float64Array | Int32Array>(array: T, make: (n: number) => T): T => {
      const grown = make(length);
      grown.set(array);
      return grown;
    };
    this.#counts = grow(this.#counts, (n) => new Float64Array(n));
    this.#sums = grow(this.#sums, (n) => new Float64Array(n));
    this.#left = grow(this.#left, (n) => new Int32Array(n));
    this.#right = grow(this.#right, (n) => new Int32Array(n));
    this.#priorities = grow(this.#priorities, (n) => new Int32Array(n));
  }

  /** Approximate bytes held. */
  get bytes(): number {
    return this.#counts.length * 36 + this.#keys.length * 8;
  }
}
