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
export { ChunkedBitmap, IndexBitmap } from './bitmap.js';
export { IndexSpace } from './index-space.js';
export { PrefixAllocator, type PrefixReserveOutcome } from './prefix-allocator.js';
export {
  type AllocationStrategy,
  createStrategy,
  LowestStrategy,
  STRATEGY_NAMES,
  type StrategyName,
} from './strategy.js';
