/**
 * The per-pool allocator: a chunked bitmap over the dense index space of a pool's allocatable
 * set, with a strategy that picks the next address. Pure and synchronous; imports only `ip`.
 */
export {
  type AllocatorOptions,
  PoolAllocator,
  type PoolCounts,
  type RebuildReport,
  type ReserveOutcome,
  type ReshapeReport,
} from './allocator.js';
export { ChunkedBitmap, IndexBitmap, type IndexBitmapOptions } from './bitmap.js';
export { IndexSpace } from './index-space.js';
export {
  PrefixAllocator,
  type PrefixAllocatorOptions,
  type PrefixReserveOutcome,
} from './prefix-allocator.js';
export { cryptoRandom, type RandomSource, randomBelow, randomBigBelow, seededRandom } from './random.js';
export {
  type AllocationStrategy,
  createStrategy,
  DEFAULT_STRATEGY,
  type FreeIndices,
  HighestStrategy,
  isStrategyName,
  LowestStrategy,
  type NarrowFreeIndices,
  RandomStrategy,
  RoundRobinStrategy,
  STRATEGY_NAMES,
  type StrategyName,
  type StrategyOptions,
} from './strategy.js';
