/**
 * V8's heap strategy, chosen by the size of the caches. By default V8 lets the old generation grow
 * to about twice what is live before it collects, and keeps what it grew to: with 100k claims and
 * 100k IPAddresses cached (~165 MB live) the process sat at ~470 MB RSS. `--optimize-for-size`
 * makes it grow in small steps and give memory back (~260 MB), at a CPU cost: in bench:e2e (5k
 * claims) the controller used ~65 % more CPU with it. So it is on only while the caches are large:
 * switched on as soon as the first pages of the initial lists show a large collection (before it
 * fills the heap: that is where V8 would grow), and re-decided after sync and every minute.
 *
 * `v8.setFlagsFromString` after start-up is documented as use-with-care; this flag only selects
 * heap-sizing heuristics, which V8 reads at each collection. bench/memory.ts measures the effect.
 * A `--optimize-for-size` or `--no-optimize-for-size` on node's command line is left alone.
 */
import v8 from 'node:v8';

/** Cached objects (claims + IPAddresses) from which the heap favours memory over speed. */
export const LARGE_CACHE_OBJECTS = 20_000;

export class HeapStrategy {
  private favoursMemory = false;
  private readonly fixed = process.execArgv.some((a) => /^--(no-)?optimize[-_]for[-_]size$/.test(a));

  get memoryFirst(): boolean {
    return this.favoursMemory;
  }

  /** Re-decides for the current cache size (half the threshold to switch back: no flapping). */
  update(cachedObjects: number): boolean {
    if (!this.favoursMemory && cachedObjects >= LARGE_CACHE_OBJECTS) return this.set(true);
    if (this.favoursMemory && cachedObjects < LARGE_CACHE_OBJECTS / 2) return this.set(false);
    return false;
  }

  private set(memoryFirst: boolean): boolean {
    if (this.fixed || this.favoursMemory === memoryFirst) return false;
    v8.setFlagsFromString(memoryFirst ? '--optimize-for-size' : '--no-optimize-for-size');
    this.favoursMemory = memoryFirst;
    return true;
  }
}
