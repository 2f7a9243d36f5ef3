/**
 * The summary of a chunked bitmap: runs of consecutive chunk keys that are entirely used, sorted
 * and disjoint. A search for a free index that meets a run jumps to its far end in one step, up or
 * down, which is what keeps "next free" and "previous free" amortised O(1) as a pool fills.
 */
export class FullRuns {
  // runStarts[i]..runEnds[i], ascending.
  readonly #runStarts: number[] = [];
  readonly #runEnds: number[] = [];

  get length(): number {
    return this.#runStarts.length;
  }

  startOf(run: number): number {
    return this.#runStarts[run]!;
  }

  endOf(run: number): number {
    return this.#runEnds[run]!;
  }

  /** Index of the run holding `key`, or -1. */
  runOf(key: number): number {
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

  /** The chunk `key` became full: join it to the runs either side, or start a run. */
  markFull(key: number): void {
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

  /** The chunk `key` is no longer full: cut it out of its run. */
  markNotFull(key: number): void {
    const run = this.runOf(key);
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
