/**
 * Strategies choose which free index a new claim gets. Only `lowest` exists (the Go provider's
 * behaviour); `random` and `least-recently-released` are planned, which is why a strategy is told
 * about every reservation and release and may keep state of its own.
 */
import type { IndexBitmap } from './bitmap.js';

export type StrategyName = 'lowest';

export const STRATEGY_NAMES: readonly StrategyName[] = ['lowest'];

export interface AllocationStrategy {
  readonly name: StrategyName;
  /** A free index of the bitmap, or undefined when none is free. Must not change the bitmap. */
  pick(bitmap: IndexBitmap): bigint | undefined;
  /** An index was reserved, by `pick` or by a specific reservation. */
  reserved(index: bigint): void;
  /** An index was released. */
  released(index: bigint): void;
  /** The bitmap was rebuilt or re-shaped: forget everything learnt. */
  reset(): void;
}

/** The lowest free index, i.e. the lowest free address across the sorted, merged ranges. */
export class LowestStrategy implements AllocationStrategy {
  readonly name = 'lowest';
  // Every index below the hint is used, so a search starts there: filling a pool stays O(1) per
  // allocation instead of rescanning from 0.
  #hint = 0n;

  pick(bitmap: IndexBitmap): bigint | undefined {
    if (bitmap.narrow !== undefined) {
      const index = bitmap.nextFreeNumber(Number(this.#hint));
      const found = index < 0 ? undefined : BigInt(index);
      this.#hint = found ?? bitmap.size;
      return found;
    }
    const found = bitmap.nextFree(this.#hint);
    this.#hint = found ?? bitmap.size;
    return found;
  }

  reserved(index: bigint): void {
    if (index === this.#hint) this.#hint = index + 1n;
  }

  released(index: bigint): void {
    if (index < this.#hint) this.#hint = index;
  }

  reset(): void {
    this.#hint = 0n;
  }
}

export function createStrategy(name: StrategyName): AllocationStrategy {
  switch (name) {
    case 'lowest':
      return new LowestStrategy();
  }
}
