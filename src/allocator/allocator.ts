/**
 * One allocator per pool: which addresses of the pool's allocatable set are reserved, and which
 * reserved addresses lie outside it (out of range, after a spec change or a rebuild).
 *
 * Everything is synchronous on purpose: a controller picks and reserves an address with no
 * `await` in between, then creates the IPAddress, and releases the address if that fails. That is
 * what keeps two claims of one pool from getting the same address without a single worker.
 *
 * Which free address comes next is the strategy's choice (`Lowest`, `Highest`, `Random`,
 * `RoundRobin`; see strategy.ts). Whatever it picks is checked free before it is reserved.
 *
 * The allocator holds a set, not a multiset: `reserve` and `release` are idempotent. When two
 * IPAddresses hold one address (reported by `rebuild` and by `reserve` answering
 * `already-reserved`), the caller must release the address only when the last of them is gone.
 */
import {
  type AllocatableSet,
  compareIP,
  formatIP,
  type IP,
  type IPFamily,
  type PoolSpecInput,
  parseIP,
  poolAllocatableSet,
  type Result,
} from '../ip/index.js';
import { IndexBitmap } from './bitmap.js';
import { IndexSpace } from './index-space.js';
import type { RandomSource } from './random.js';
import { type AllocationStrategy, createStrategy, DEFAULT_STRATEGY, type StrategyName } from './strategy.js';

export interface AllocatorOptions {
  /** How a free address is chosen; `Lowest` (the default) is the Go provider's behaviour. */
  readonly strategy?: StrategyName;
  /** Random's source, a uniform number in [0, 1) as Math.random; Web Crypto by default. */
  readonly random?: RandomSource;
}

/** Pool usage, exact. Cap with `capToInt64` before writing it to the int64 status fields. */
export interface PoolCounts {
  /** Size of the allocatable set. */
  readonly total: bigint;
  /** Distinct reserved addresses, out-of-range ones included (the Go provider's `used`). */
  readonly used: bigint;
  /**
   * Addresses of the allocatable set not reserved: `total − (used − outOfRange)`. Never negative,
   * unlike Go's `total − used`, which goes below zero when out-of-range addresses are held.
   */
  readonly free: bigint;
  /** Reserved addresses outside the allocatable set. */
  readonly outOfRange: bigint;
}

/**
 * `reserved`: the address was free and is now reserved. `already-reserved`: it was reserved before
 * (a second holder, if the caller did not reserve it itself). `out-of-range`: not in the
 * allocatable set; recorded as an out-of-range reservation. `invalid`: not an IP address.
 */
export type ReserveOutcome = 'reserved' | 'already-reserved' | 'out-of-range' | 'invalid';

export interface RebuildReport {
  /** Distinct addresses reserved in the allocatable set. */
  readonly reserved: number;
  /** Addresses kept as out-of-range reservations, once each. */
  readonly outOfRange: readonly string[];
  /** Addresses given more than once, once per extra occurrence, as written. */
  readonly duplicates: readonly string[];
  /** Strings that are not addresses, with the reason; they reserve nothing. */
  readonly invalid: readonly { readonly address: string; readonly error: string }[];
}

export interface ReshapeReport {
  /** Reserved addresses that are in the new allocatable set. */
  readonly inRange: number;
  /** Reserved addresses outside the new allocatable set, ascending. */
  readonly outOfRange: readonly string[];
}

type AddressInput = string | IP;

export class PoolAllocator {
  #set: AllocatableSet;
  #space: IndexSpace;
  #bitmap: IndexBitmap;
  readonly #strategy: AllocationStrategy;
  /** Out-of-range reservations by canonical address text. */
  readonly #outOfRange = new Map<string, IP>();

  constructor(set: AllocatableSet, options: AllocatorOptions = {}) {
    this.#set = set;
    this.#space = new IndexSpace(set.addresses);
    this.#strategy = createStrategy(options.strategy ?? DEFAULT_STRATEGY, { random: options.random });
    this.#bitmap = this.#newBitmap();
  }

  /** An allocator for a pool spec, or the reason the spec has no allocatable set. */
  static fromSpec(spec: PoolSpecInput, options?: AllocatorOptions): Result<PoolAllocator> {
    const set = poolAllocatableSet(spec);
    return set.ok ? { ok: true, value: new PoolAllocator(set.value, options) } : set;
  }

  get family(): IPFamily {
    return this.#set.family;
  }

  get allocatableSet(): AllocatableSet {
    return this.#set;
  }

  get strategy(): StrategyName {
    return this.#strategy.name;
  }

  /** Reserves an address chosen by the strategy and returns it, or undefined when the pool is full. */
  reserveNextIP(): IP | undefined {
    const index = this.#strategy.pick(this.#bitmap);
    if (index === undefined) return undefined;
    // Checked, not trusted: a used address handed out again is the one thing that must not happen.
    if (!this.#bitmap.add(index))
      throw new Error(`strategy ${this.#strategy.name} picked index ${index}, in use`);
    this.#strategy.reserved(index);
    return { family: this.#set.family, value: this.#space.valueAt(index) };
  }

  /** As {@link reserveNextIP}, formatted as Go formats addresses (the IPAddress `spec.address`). */
  reserveNext(): string | undefined {
    const ip = this.reserveNextIP();
    return ip === undefined ? undefined : formatIP(ip);
  }

  /**
   * RoundRobin's position: the address handed out last, formatted as Go formats addresses, for the
   * controller to keep in the pool's status. Undefined before the first, and for other strategies.
   */
  get lastAllocated(): string | undefined {
    const index = this.#strategy.lastAllocated;
    return index === undefined
      ? undefined
      : formatIP({ family: this.#set.family, value: this.#space.valueAt(index) });
  }

  /**
   * Restores RoundRobin's position (read back from the pool's status after a restart or a change
   * of leader): the next address handed out is the first free one after `address`. An address no
   * longer allocatable (excluded since, or outside the pool) continues after the highest
   * allocatable address below it; undefined, a text that is not an address, one of the other
   * family, or one below the whole pool start from the lowest. Other strategies ignore it.
   */
  restoreLastAllocated(address: AddressInput | undefined): void {
    if (!('lastAllocated' in this.#strategy)) return;
    const ip = address === undefined ? undefined : toIP(address);
    this.#strategy.lastAllocated =
      ip === undefined || ip.family !== this.#set.family ? undefined : this.#space.indexAtOrBelow(ip.value);
  }

  /** Reserves a given address (adopting an existing IPAddress, or syncing from the cache). */
  reserve(address: AddressInput): ReserveOutcome {
    const ip = toIP(address);
    if (ip === undefined) return 'invalid';
    const index = this.#indexOf(ip);
    if (index !== undefined) {
      if (!this.#bitmap.add(index)) return 'already-reserved';
      this.#strategy.reserved(index);
      return 'reserved';
    }
    const key = formatIP(ip);
    if (this.#outOfRange.has(key)) return 'already-reserved';
    this.#outOfRange.set(key, ip);
    return 'out-of-range';
  }

  /** Frees an address; false if it was not reserved (or is not an address). */
  release(address: AddressInput): boolean {
    const ip = toIP(address);
    if (ip === undefined) return false;
    const index = this.#indexOf(ip);
    if (index === undefined) return this.#outOfRange.delete(formatIP(ip));
    if (!this.#bitmap.remove(index)) return false;
    this.#strategy.released(index);
    return true;
  }

  /** Whether the address is reserved, in range or out of range. */
  isReserved(address: AddressInput): boolean {
    const ip = toIP(address);
    if (ip === undefined) return false;
    const index = this.#indexOf(ip);
    return index === undefined ? this.#outOfRange.has(formatIP(ip)) : this.#bitmap.has(index);
  }

  /** Whether the address belongs to the allocatable set (reserved or not). */
  isAllocatable(address: AddressInput): boolean {
    const ip = toIP(address);
    return ip !== undefined && this.#indexOf(ip) !== undefined;
  }

  get total(): bigint {
    return this.#space.size;
  }

  get used(): bigint {
    return BigInt(this.#bitmap.count + this.#outOfRange.size);
  }

  get free(): bigint {
    return this.#space.size - BigInt(this.#bitmap.count);
  }

  get outOfRange(): bigint {
    return BigInt(this.#outOfRange.size);
  }

  /** All four counts, each O(1). */
  counts(): PoolCounts {
    return { total: this.total, used: this.used, free: this.free, outOfRange: this.outOfRange };
  }

  /** Reserved addresses: those in range ascending, then the out-of-range ones ascending. */
  *reservedIPs(): IterableIterator<IP> {
    const family = this.#set.family;
    for (const index of this.#bitmap.values()) yield { family, value: this.#space.valueAt(index) };
    yield* this.#outOfRangeIPs();
  }

  /** As {@link reservedIPs}, formatted. */
  *reservedAddresses(): IterableIterator<string> {
    for (const ip of this.reservedIPs()) yield formatIP(ip);
  }

  /**
   * Forgets every reservation and reserves the given addresses (the `spec.address` of every
   * IPAddress of the pool, from a consistent list). Nothing is dropped silently: addresses
   * outside the pool are kept as out of range, and duplicates and invalid strings are reported.
   */
  rebuild(addresses: Iterable<string>): RebuildReport {
    const position = this.lastAllocated;
    this.#bitmap = this.#newBitmap();
    this.#outOfRange.clear();
    this.#strategy.reset();
    this.restoreLastAllocated(position);
    const outOfRange: string[] = [];
    const duplicates: string[] = [];
    const invalid: { address: string; error: string }[] = [];
    for (const address of addresses) {
      const parsed = parseIP(address);
      if (!parsed.ok) {
        invalid.push({ address, error: parsed.error });
        continue;
      }
      const outcome = this.reserve(parsed.value);
      if (outcome === 'already-reserved') duplicates.push(address);
      else if (outcome === 'out-of-range') outOfRange.push(address);
    }
    return { reserved: this.#bitmap.count, outOfRange, duplicates, invalid };
  }

  /**
   * Adopts a new allocatable set (the pool's spec changed) keeping every reservation: those in the
   * new set stay reserved there, the others become out of range (and out-of-range ones that the
   * new set covers come back in range).
   */
  reshape(next: AllocatableSet | PoolSpecInput): Result<ReshapeReport> {
    let set: AllocatableSet;
    if ('family' in next) set = next;
    else {
      const computed = poolAllocatableSet(next);
      if (!computed.ok) return computed;
      set = computed.value;
    }
    const held = [...this.reservedIPs()];
    const position = this.lastAllocated;
    this.#set = set;
    this.#space = new IndexSpace(set.addresses);
    this.#bitmap = this.#newBitmap();
    this.#outOfRange.clear();
    this.#strategy.reset();
    this.restoreLastAllocated(position);
    for (const ip of held) this.reserve(ip);
    const outOfRange = [...this.#outOfRangeIPs()].map(formatIP);
    return { ok: true, value: { inRange: this.#bitmap.count, outOfRange } };
  }

  /** Approximate bytes held by the bitmap (not counting out-of-range reservations). */
  get bitmapBytes(): number {
    return this.#bitmap.bytes;
  }

  #newBitmap(): IndexBitmap {
    return new IndexBitmap(this.#space.size, { ranked: this.#strategy.ranked });
  }

  #indexOf(ip: IP): bigint | undefined {
    return ip.family === this.#set.family ? this.#space.indexOf(ip.value) : undefined;
  }

  *#outOfRangeIPs(): IterableIterator<IP> {
    yield* [...this.#outOfRange.values()].sort(compareIP);
  }
}

function toIP(address: AddressInput): IP | undefined {
  if (typeof address !== 'string') return address;
  const parsed = parseIP(address);
  return parsed.ok ? parsed.value : undefined;
}
