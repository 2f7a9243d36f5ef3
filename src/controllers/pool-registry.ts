/**
 * Every IP pool the controller knows, with its allocator, kept in step with the pools and
 * IPAddresses the informers see. Built once from complete, consistent lists after the caches
 * synced, then updated event by event — so after any restart the bitmap holds exactly what the
 * API holds, and nothing is allocated before that.
 */
import { type AllocatorOptions, PoolAllocator } from '../allocator/index.js';
import type { IPAddress } from '../api/capi-types.js';
import { effectiveAllocationStrategy, isGlobalPoolKind, isPrefixPoolKind } from '../api/constants.js';
import { aggregateMessage } from '../api/errors.js';
import type { IPPool } from '../api/ippool-types.js';
import { parseLabelSelector } from '../api/selector.js';
import { validateIPPoolSpec } from '../api/validate.js';
import { type AllocatableSet, canonicalIP, poolAllocatableSet } from '../ip/index.js';
import { compareResourceVersions, splitObjectKey } from '../kube/index.js';
import { canonicalChoice } from './chosen-address.js';
import { heldInOurPool, objectKey, poolKeyOfPool, poolKeyOfRef } from './claim-rules.js';
import { type AddressAllocator, type PoolObject, PoolState } from './pool-state.js';
import { prefixHoldKey, prefixPoolState } from './prefix-pools.js';

/** How many recent IPAddress deletions observeOwnWrite checks against (~100 bytes each). */
const MAX_REMEMBERED_DELETIONS = 10_000;

export type AllocatorFactory = (set: AllocatableSet, options?: AllocatorOptions) => AddressAllocator;

/** The bitmap allocator, with the pool's strategy, behind the interface the pool state needs. */
export const bitmapAllocator: AllocatorFactory = (set, options) => {
  const a = new PoolAllocator(set, options);
  return {
    reserveNext: () => a.reserveNext(),
    reserve: (address) => {
      const outcome = a.reserve(address);
      return outcome === 'reserved' ? 'reserved' : outcome === 'already-reserved' ? 'taken' : 'outside';
    },
    release: (address) => void a.release(address),
    get total() {
      return a.total;
    },
    // In-range addresses in use; out-of-range ones are counted by the pool state.
    get used() {
      return a.total - a.free;
    },
    get lastAllocated() {
      return a.lastAllocated;
    },
    restoreLastAllocated: (text) => a.restoreLastAllocated(text),
  };
};

export interface PoolRegistryHooks {
  /** Two IPAddresses hold one address in one pool (made by hand, or by another provider). */
  onDuplicate?(pool: PoolState, address: string, holders: string[]): void;
  /** An address became free: claims waiting on the pool may proceed. */
  onReleased?(pool: PoolState): void;
  /** Counts or spec changed: the pool's status needs writing. */
  onChanged?(pool: PoolState): void;
}

export class PoolRegistry {
  private readonly pools = new Map<string, PoolState>();
  /**
   * IPAddress key → key of the pool it names. Its address is held by that pool's state; for a
   * pool not known (yet, or any more) it waits in `orphans`. One entry per IPAddress: at 100k
   * addresses every extra map here costs megabytes.
   */
  private readonly seen = new Map<string, string>();
  private readonly orphans = new Map<string, Map<string, string>>();
  private readonly countByPool = new Map<string, number>();
  /**
   * IPAddresses we wrote whose informer event has not come yet → the resourceVersion our write
   * returned. Few at any time: the watch delivers them within moments, unless it broke.
   */
  private readonly unconfirmed = new Map<string, string>();
  /**
   * IPAddress key → resourceVersion of its deletion, for the last deletions seen. A write's answer
   * can arrive after the watch delivered the object's ADDED and DELETED events (someone deleted it
   * at once); held from that answer, the address would stay held by an object that is gone.
   */
  private readonly deleted = new Map<string, string>();

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
  upsertPool(kind: string, pool: PoolObject): PoolState {
    const key = poolKeyOfPool(pool, kind);
    const current = this.pools.get(key);
    if (current && JSON.stringify(current.pool.spec) === JSON.stringify(pool.spec)) {
      current.pool = pool;
      this.hooks.onChanged?.(current);
      return current;
    }
    const next = this.build(key, kind, pool);
    // RoundRobin goes on where it was: in memory across a spec change, else where the last leader
    // wrote it (the status is coalesced, so a crash may cost the last second of it).
    next.allocator?.restoreLastAllocated(current?.allocator?.lastAllocated ?? pool.status?.lastAllocated);
    this.pools.set(key, next);
    if (current) current.moveTo(next);
    else {
      for (const [ipKey, address] of this.orphans.get(key) ?? []) this.holdSeen(next, address, ipKey);
      this.orphans.delete(key);
    }
    this.hooks.onChanged?.(next);
    if (next.valid) this.hooks.onReleased?.(next);
    return next;
  }

  removePool(kind: string, pool: PoolObject): PoolState | undefined {
    const key = poolKeyOfPool(pool, kind);
    const state = this.pools.get(key);
    this.pools.delete(key);
    // Its IPAddresses stay seen, and its reservations stay too (a create may be in flight):
    // should the pool come back, it starts with all of them held, and hands none out twice.
    for (const [holder, address] of state?.holdings() ?? []) {
      const seenIn = this.seen.get(holder);
      if (seenIn === undefined || seenIn === key) this.orphansOf(key).set(holder, address);
    }
    return state;
  }

  /**
   * An IPAddress we created or adopted, as the API answered. Held at once; until the informer
   * confirms it, a list that lacks it (see forgetUnlisted) tells that it went meanwhile.
   */
  observeOwnWrite(ip: IPAddress): void {
    const gone = this.deleted.get(objectKey(ip));
    const rv = ip.metadata?.resourceVersion;
    if (gone !== undefined && rv !== undefined) {
      const order = compareResourceVersions(rv, gone);
      if (order !== undefined && order <= 0) return;
    }
    this.observe(ip);
    const ipKey = objectKey(ip);
    if (rv && this.seen.has(ipKey)) this.unconfirmed.set(ipKey, rv);
  }

  /** An IPAddress was added or changed (informer event). */
  observeAddress(ip: IPAddress): void {
    this.unconfirmed.delete(objectKey(ip));
    this.observe(ip);
  }

  /** An IPAddress was deleted (informer event): freed, and remembered for a late observeOwnWrite. */
  observeDeleted(ip: IPAddress): void {
    const ipKey = objectKey(ip);
    const rv = ip.metadata?.resourceVersion;
    if (rv !== undefined) {
      this.deleted.delete(ipKey);
      this.deleted.set(ipKey, rv);
      // The race lasts as long as one answer is in flight: recent deletions are enough.
      if (this.deleted.size > MAX_REMEMBERED_DELETIONS) {
        const oldest = this.deleted.keys().next().value;
        if (oldest !== undefined) this.deleted.delete(oldest);
      }
    }
    this.forgetAddress(ip);
  }

  /**
   * After a list of the IPAddresses at `listResourceVersion`: one we wrote at or before it that the
   * list lacks was deleted while the watch was away (an API server restart, say). Its DELETED event
   * is lost with the watch and the informer never cached it, so nothing else would free it.
   */
  forgetUnlisted(isListed: (ipKey: string) => boolean, listResourceVersion: string): void {
    for (const [ipKey, rv] of this.unconfirmed) {
      if (isListed(ipKey)) {
        this.unconfirmed.delete(ipKey);
        continue;
      }
      const order = compareResourceVersions(rv, listResourceVersion);
      if (order !== undefined && order <= 0)
        this.forgetAddress({ metadata: splitObjectKey(ipKey) } as IPAddress);
    }
  }

  private observe(ip: IPAddress): void {
    const ipKey = objectKey(ip);
    const ref = ip.spec?.poolRef;
    const stored = ip.spec?.address;
    if (!heldInOurPool(ref) || !stored) {
      this.forgetAddress(ip);
      return;
    }
    const poolKey = poolKeyOfRef(ref, ip.metadata?.namespace);
    // Unparseable addresses (written by hand) are held as they are: they count as out of range.
    // A canonical one keeps the cached object's string rather than an equal copy. Prefix pools
    // hold the IPAddress's prefix, `network/length`.
    const canonical = isPrefixPoolKind(ref.kind)
      ? prefixHoldKey(stored, ip.spec?.prefix)
      : (canonicalIP(stored) ?? stored);
    const address = canonical === stored ? stored : canonical;
    const before = this.seen.get(ipKey);
    if (before !== undefined) {
      if (before === poolKey && this.addressOfSeen(ipKey, before) === address) return;
      this.forgetAddress(ip);
    }
    this.seen.set(ipKey, poolKey);
    this.countByPool.set(poolKey, (this.countByPool.get(poolKey) ?? 0) + 1);
    const pool = this.pools.get(poolKey);
    if (!pool) {
      this.orphansOf(poolKey).set(ipKey, address);
      return;
    }
    this.holdSeen(pool, address, ipKey);
    this.hooks.onChanged?.(pool);
  }

  /** An IPAddress is gone: its address is free again unless someone else still holds it. */
  forgetAddress(ip: IPAddress): void {
    const ipKey = objectKey(ip);
    this.unconfirmed.delete(ipKey);
    const poolKey = this.seen.get(ipKey);
    if (poolKey === undefined) return;
    this.seen.delete(ipKey);
    const count = (this.countByPool.get(poolKey) ?? 1) - 1;
    if (count > 0) this.countByPool.set(poolKey, count);
    else this.countByPool.delete(poolKey);
    const pool = this.pools.get(poolKey);
    if (!pool) {
      const waiting = this.orphans.get(poolKey);
      waiting?.delete(ipKey);
      if (waiting?.size === 0) this.orphans.delete(poolKey);
      return;
    }
    // While an IPAddress is seen, its key holds exactly its address (reservations for a key come
    // only when no IPAddress of that name exists), so unholding the key frees that address.
    if (pool.unhold(ipKey) !== undefined) this.hooks.onReleased?.(pool);
    this.hooks.onChanged?.(pool);
  }

  /**
   * Drops a claim's in-memory reservation when no IPAddress was made for it (create failed for
   * sure). An IPAddress seen for the key keeps the address: only its deletion frees it.
   */
  releaseReservation(pool: Pick<PoolState, 'key'>, holder: string): void {
    if (this.seen.has(holder)) return;
    // The pool may have been removed, or rebuilt from a new spec, since the reservation was made:
    // the reservation lives where the pool's key leads now.
    const current = this.pools.get(pool.key);
    if (!current) {
      const waiting = this.orphans.get(pool.key);
      waiting?.delete(holder);
      if (waiting?.size === 0) this.orphans.delete(pool.key);
      return;
    }
    if (current.unhold(holder) !== undefined) this.hooks.onReleased?.(current);
    this.hooks.onChanged?.(current);
  }

  /**
   * The key of the pool in which `holder` holds an address (an IPAddress seen, or a reservation,
   * also one kept for a pool that is gone), if any. Linear in the pools: only for a claim that
   * went, whose pool we can no longer read off it.
   */
  poolHolding(holder: string): string | undefined {
    const seenIn = this.seen.get(holder);
    if (seenIn !== undefined) return seenIn;
    for (const pool of this.pools.values()) if (pool.addressOf(holder) !== undefined) return pool.key;
    for (const [poolKey, waiting] of this.orphans) if (waiting.has(holder)) return poolKey;
    return undefined;
  }

  /** How many IPAddresses the API holds for a pool (the pool finalizer waits for zero). */
  addressCount(poolKey: string): number {
    return this.countByPool.get(poolKey) ?? 0;
  }

  private addressOfSeen(ipKey: string, poolKey: string): string | undefined {
    const pool = this.pools.get(poolKey);
    return pool ? pool.addressOf(ipKey) : this.orphans.get(poolKey)?.get(ipKey);
  }

  private orphansOf(poolKey: string): Map<string, string> {
    let waiting = this.orphans.get(poolKey);
    if (!waiting) {
      waiting = new Map();
      this.orphans.set(poolKey, waiting);
    }
    return waiting;
  }

  private holdSeen(pool: PoolState, address: string, ipKey: string): void {
    const result = pool.hold(address, ipKey);
    if (result.duplicateOf) {
      this.hooks.onDuplicate?.(pool, address, [...pool.holdersOf(address)]);
    }
  }

  private build(key: string, kind: string, pool: PoolObject): PoolState {
    const state = this.buildState(key, kind, pool);
    const selector = (pool.spec as { namespaceSelector?: unknown } | undefined)?.namespaceSelector;
    if (!isGlobalPoolKind(kind) || selector === undefined || selector === null || !state.valid) return state;
    // A selector that got in while the webhooks were off must not widen the pool's reach: the
    // pool is invalid until it is fixed, as for any other field.
    const parsed = parseLabelSelector(selector);
    if (!parsed.ok) return new PoolState(key, kind, pool, undefined, aggregateMessage(parsed.errors));
    state.namespaceSelector = parsed.selector;
    return state;
  }

  private buildState(key: string, kind: string, pool: PoolObject): PoolState {
    const pins = pinsOf(kind, pool);
    // Changing the strategy rebuilds the allocator: held addresses stay, new ones follow it.
    const options = { strategy: effectiveAllocationStrategy(pool.spec ?? {}) };
    if (isPrefixPoolKind(kind)) return prefixPoolState(key, kind, pool, pins, options);
    const spec = (pool as IPPool).spec;
    const errors = validateIPPoolSpec(spec ?? ({} as IPPool['spec']), kind);
    if (errors.length > 0) return new PoolState(key, kind, pool, undefined, aggregateMessage(errors));
    const set = poolAllocatableSet(spec);
    if (!set.ok) return new PoolState(key, kind, pool, undefined, set.error);
    return new PoolState(key, kind, pool, this.newAllocator(set.value, options), undefined, pins);
  }
}

interface PreAllocationInput {
  claimName?: unknown;
  namespace?: unknown;
  address?: unknown;
}

/**
 * spec.preAllocations as claim key → canonical address. A namespaced pool pins claims of its own
 * namespace; a global pool names the namespace. Entries the webhook would refuse (it may have been
 * off) are skipped here; their claims are then served as any other.
 */
function pinsOf(kind: string, pool: PoolObject): [string, string][] {
  const list = (pool.spec as { preAllocations?: unknown } | undefined)?.preAllocations;
  if (!Array.isArray(list)) return [];
  const pins: [string, string][] = [];
  for (const entry of list as PreAllocationInput[]) {
    const namespace = isGlobalPoolKind(kind) ? entry?.namespace : pool.metadata?.namespace;
    if (
      typeof entry?.claimName !== 'string' ||
      typeof namespace !== 'string' ||
      typeof entry.address !== 'string'
    )
      continue;
    const address = canonicalChoice(kind, entry.address);
    if (address.ok) pins.push([`${namespace}/${entry.claimName}`, address.value]);
  }
  return pins;
}
