/**
 * Every IP pool the controller knows, with its allocator, kept in step with the pools and
 * IPAddresses the informers see. Built once from complete, consistent lists after the caches
 * synced, then updated event by event — so after any restart the bitmap holds exactly what the
 * API holds, and nothing is allocated before that.
 */
import type { IPAddress } from '../api/capi-types.js';
import { aggregateMessage } from '../api/errors.js';
import type { IPPool } from '../api/ippool-types.js';
import { validateIPPoolSpec } from '../api/validate.js';
import { type AllocatableSet, canonicalIP, poolAllocatableSet } from '../ip/index.js';
import { handlesPoolRef, objectKey, poolKeyOfPool, poolKeyOfRef } from './claim-rules.js';
import { type AddressAllocator, PoolState } from './pool-state.js';

export type AllocatorFactory = (set: AllocatableSet) => AddressAllocator;

export interface PoolRegistryHooks {
  /** Two IPAddresses hold one address in one pool (made by hand, or by another provider). */
  onDuplicate?(pool: PoolState, address: string, holders: string[]): void;
  /** An address became free: claims waiting on the pool may proceed. */
  onReleased?(pool: PoolState): void;
  /** Counts or spec changed: the pool's status needs writing. */
  onChanged?(pool: PoolState): void;
}

interface SeenAddress {
  poolKey: string;
  address: string;
}

export class PoolRegistry {
  private readonly pools = new Map<string, PoolState>();
  /** IPAddress key → what it holds; also for pools not (yet) known, so they pick them up. */
  private readonly seen = new Map<string, SeenAddress>();
  private readonly seenByPool = new Map<string, Set<string>>();

  constructor(
    private readonly newAllocator: AllocatorFactory,
    private readonly hooks: PoolRegistryHooks = {},
  ) {}

  get(poolKey: string): PoolState | undefined {
    return this.pools.get(poolKey);
  }

  all(): IterableIterator<PoolState> {
    return this.pools.values();
  }

  /**
   * Adds or updates a pool. A changed spec builds a new allocator and carries every allocation
   * over (addresses now outside the set stay allocated and count as out of range).
   */
  upsertPool(kind: string, pool: IPPool): PoolState {
    const key = poolKeyOfPool(pool, kind);
    const current = this.pools.get(key);
    if (current && JSON.stringify(current.pool.spec) === JSON.stringify(pool.spec)) {
      current.pool = pool;
      this.hooks.onChanged?.(current);
      return current;
    }
    const next = this.build(key, kind, pool);
    if (current) current.moveTo(next);
    this.pools.set(key, next);
    for (const ipKey of this.seenByPool.get(key) ?? []) {
      const s = this.seen.get(ipKey);
      if (s) this.holdSeen(next, s.address, ipKey);
    }
    this.hooks.onChanged?.(next);
    if (next.valid) this.hooks.onReleased?.(next);
    return next;
  }

  removePool(kind: string, pool: IPPool): PoolState | undefined {
    const key = poolKeyOfPool(pool, kind);
    const state = this.pools.get(key);
    this.pools.delete(key);
    return state;
  }

  /** An IPAddress was added or changed (informer event, or our own create/adoption). */
  observeAddress(ip: IPAddress): void {
    const ipKey = objectKey(ip);
    const ref = ip.spec?.poolRef;
    if (!handlesPoolRef(ref) || !ip.spec?.address) {
      this.forgetAddress(ip);
      return;
    }
    const poolKey = poolKeyOfRef(ref, ip.metadata?.namespace);
    // Unparseable addresses (written by hand) are held as they are: they count as out of range.
    const address = canonicalIP(ip.spec.address) ?? ip.spec.address;
    const before = this.seen.get(ipKey);
    if (before && before.poolKey === poolKey && before.address === address) return;
    if (before) this.forgetAddress(ip);
    this.seen.set(ipKey, { poolKey, address });
    let set = this.seenByPool.get(poolKey);
    if (!set) {
      set = new Set();
      this.seenByPool.set(poolKey, set);
    }
    set.add(ipKey);
    const pool = this.pools.get(poolKey);
    if (pool) {
      this.holdSeen(pool, address, ipKey);
      this.hooks.onChanged?.(pool);
    }
  }

  /** An IPAddress is gone: its address is free again unless someone else still holds it. */
  forgetAddress(ip: IPAddress): void {
    const ipKey = objectKey(ip);
    const s = this.seen.get(ipKey);
    if (!s) return;
    this.seen.delete(ipKey);
    this.seenByPool.get(s.poolKey)?.delete(ipKey);
    const pool = this.pools.get(s.poolKey);
    if (!pool) return;
    // Only the holder that this IPAddress was: a pending reservation of the same key moved on.
    if (pool.addressOf(ipKey) === s.address) {
      const freed = pool.unhold(ipKey);
      if (freed !== undefined) this.hooks.onReleased?.(pool);
    }
    this.hooks.onChanged?.(pool);
  }

  /**
   * Drops a claim's in-memory reservation when no IPAddress was made for it (create failed for
   * sure). An IPAddress seen for the key keeps the address: only its deletion frees it.
   */
  releaseReservation(pool: PoolState, holder: string): void {
    if (this.seen.has(holder)) return;
    if (pool.unhold(holder) !== undefined) this.hooks.onReleased?.(pool);
    this.hooks.onChanged?.(pool);
  }

  /** How many IPAddresses the API holds for a pool (the pool finalizer waits for zero). */
  addressCount(poolKey: string): number {
    return this.seenByPool.get(poolKey)?.size ?? 0;
  }

  private holdSeen(pool: PoolState, address: string, ipKey: string): void {
    const result = pool.hold(address, ipKey);
    if (result.duplicateOf) {
      this.hooks.onDuplicate?.(pool, address, [...pool.holdersOf(address)]);
    }
  }

  private build(key: string, kind: string, pool: IPPool): PoolState {
    const errors = validateIPPoolSpec(pool.spec ?? ({} as IPPool['spec']));
    if (errors.length > 0) return new PoolState(key, kind, pool, undefined, aggregateMessage(errors));
    const set = poolAllocatableSet(pool.spec);
    if (!set.ok) return new PoolState(key, kind, pool, undefined, set.error);
    return new PoolState(key, kind, pool, this.newAllocator(set.value), undefined);
  }
}
