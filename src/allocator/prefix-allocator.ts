/**
 * The allocator of a prefix pool: the same bitmap and lowest-free strategy as the IP pools, over
 * the index space of the pool's candidate children (src/ip/prefix.ts). Prefixes are named by their
 * text `network/length`, masked. Pure and synchronous, like PoolAllocator: pick and reserve happen
 * with no `await` in between, so one prefix is never handed out twice.
 *
 * A reservation that is not a candidate (out of range: excluded since, outside the prefixes, or of
 * another length, made by hand) is kept as such. One of another length may still overlap candidate
 * children — a /56 in a /64 pool covers 256 of them — and the Go provider never hands those out:
 * neither does this one. They are skipped lazily, when the search reaches them, and freed again
 * with the overlapping reservation.
 */
import {
  candidateIndex,
  formatChild,
  overlappedChildren,
  type PrefixCandidates,
  type PrefixSpecInput,
  parsePrefix,
  prefixCandidates,
  type Range,
  type Result,
} from '../ip/index.js';
import { IndexBitmap } from './bitmap.js';
import { IndexSpace } from './index-space.js';
import { type AllocationStrategy, createStrategy } from './strategy.js';

export type PrefixReserveOutcome = 'reserved' | 'taken' | 'outside';

export class PrefixAllocator {
  readonly candidates: PrefixCandidates;
  readonly #space: IndexSpace;
  readonly #bitmap: IndexBitmap;
  readonly #strategy: AllocationStrategy = createStrategy('lowest');
  /** Out-of-range reservations by text → the child indices they overlap (none if unparseable). */
  readonly #outside = new Map<string, Range | undefined>();
  /** Space indices marked in the bitmap only because an out-of-range reservation overlaps them. */
  readonly #shadowed = new Set<bigint>();

  constructor(candidates: PrefixCandidates) {
    this.candidates = candidates;
    this.#space = new IndexSpace(candidates.children);
    this.#bitmap = new IndexBitmap(this.#space.size);
  }

  static fromSpec(spec: PrefixSpecInput): Result<PrefixAllocator> {
    const c = prefixCandidates(spec);
    return c.ok ? { ok: true, value: new PrefixAllocator(c.value) } : c;
  }

  /** Number of candidate children (exact; cap before writing it to an int64 field). */
  get total(): bigint {
    return this.#space.size;
  }

  /** Candidate children reserved (out-of-range reservations are not counted here). */
  get used(): bigint {
    return BigInt(this.#bitmap.count - this.#shadowed.size);
  }

  /** Reserves the lowest free child and returns it as `network/length`, or undefined when full. */
  reserveNext(): string | undefined {
    for (;;) {
      const index = this.#strategy.pick(this.#bitmap);
      if (index === undefined) return undefined;
      this.#bitmap.add(index);
      this.#strategy.reserved(index);
      const child = this.#space.valueAt(index);
      if (this.#overlapsOutside(child)) {
        this.#shadowed.add(index);
        continue;
      }
      return formatChild(this.candidates, child);
    }
  }

  /** Reserves a given prefix (an IPAddress seen, or adopted); 'outside' when not a candidate. */
  reserve(prefix: string): PrefixReserveOutcome {
    const index = this.#indexOf(prefix);
    if (index === undefined) {
      if (this.#outside.has(prefix)) return 'taken';
      const parsed = parsePrefix(prefix);
      this.#outside.set(prefix, parsed.ok ? overlappedChildren(this.candidates, parsed.value) : undefined);
      return 'outside';
    }
    if (this.#shadowed.delete(index)) return 'reserved';
    if (!this.#bitmap.add(index)) return 'taken';
    this.#strategy.reserved(index);
    return 'reserved';
  }

  release(prefix: string): void {
    const index = this.#indexOf(prefix);
    if (index === undefined) {
      const overlapped = this.#outside.get(prefix);
      if (!this.#outside.delete(prefix) || overlapped === undefined) return;
      for (const shadowed of [...this.#shadowed]) {
        const child = this.#space.valueAt(shadowed);
        if (child < overlapped.first || child > overlapped.last || this.#overlapsOutside(child)) continue;
        this.#shadowed.delete(shadowed);
        this.#free(shadowed);
      }
      return;
    }
    if (this.#shadowed.has(index) || !this.#bitmap.has(index)) return;
    // Still covered by an out-of-range reservation: it stays unavailable, as a shadow.
    if (this.#overlapsOutside(this.#space.valueAt(index))) this.#shadowed.add(index);
    else this.#free(index);
  }

  isReserved(prefix: string): boolean {
    const index = this.#indexOf(prefix);
    if (index === undefined) return this.#outside.has(prefix);
    return this.#bitmap.has(index) && !this.#shadowed.has(index);
  }

  #free(index: bigint): void {
    this.#bitmap.remove(index);
    this.#strategy.released(index);
  }

  #indexOf(prefix: string): bigint | undefined {
    const parsed = parsePrefix(prefix);
    if (!parsed.ok) return undefined;
    const child = candidateIndex(this.candidates, parsed.value);
    return child === undefined ? undefined : this.#space.indexOf(child);
  }

  #overlapsOutside(child: bigint): boolean {
    for (const r of this.#outside.values()) if (r && child >= r.first && child <= r.last) return true;
    return false;
  }
}
