/**
 * One pool as the controller sees it: its spec, whether that spec is valid, the allocator that
 * decides which addresses are free, and who holds each address. The bitmap decides, not the
 * informer cache: an address is held from the moment a claim reserves it (before the IPAddress
 * exists) until the IPAddress is seen deleted.
 */
import { isPrefixPoolKind } from '../api/constants.js';
import type { IPPool } from '../api/ippool-types.js';
import type { PrefixPool } from '../api/prefixpool-types.js';
import type { LabelSelector } from '../api/selector.js';

/** A pool of any of our four kinds, as the informers hold it. */
export type PoolObject = IPPool | PrefixPool;

/** The spec fields of the IPAddress made for a held address (or, for prefix pools, prefix). */
export interface IPAddressFields {
  address: string;
  prefix: number;
  gateway?: string | undefined;
}

/** What the controller needs of the allocator (src/allocator implements it). */
export interface AddressAllocator {
  /** Marks the lowest free address used and returns it, or undefined when the pool is full. */
  reserveNext(): string | undefined;
  /** Marks a given address used: 'outside' when it is not in the allocatable set. */
  reserve(address: string): 'reserved' | 'taken' | 'outside';
  release(address: string): void;
  readonly total: bigint;
  readonly used: bigint;
  /** RoundRobin's position: the address (or prefix) its search handed out last; else undefined. */
  readonly lastAllocated: string | undefined;
  /** Puts RoundRobin's position back (read from the pool's status after a restart or a leader change). */
  restoreLastAllocated(text: string | undefined): void;
}

export interface PoolCounts {
  total: bigint;
  used: bigint;
  free: bigint;
  outOfRange: bigint;
  /** Pinned addresses (spec.preAllocations) not yet taken by their claim. */
  preAllocated: bigint;
}

/** What became of asking for one chosen address (a pin, or a claim's requested address). */
export type ChosenOutcome =
  | { reserved: string }
  | { heldBy: string }
  | { pinnedTo: string }
  | { outside: true };

export interface HoldResult {
  /** Another IPAddress already holds the same address in this pool: a duplicate to report. */
  duplicateOf?: string;
}

export class PoolState {
  /** address → keys (namespace/name of IPAddress or claim) holding it; more than one is a duplicate. */
  // One holder is a plain string; a Set only for the rare duplicate: 100k Sets cost ~25 MB.
  private readonly holders = new Map<string, string | Set<string>>();
  private readonly heldBy = new Map<string, string>();
  /** Claims waiting for a free address, woken when one is released. */
  readonly waiting = new Set<string>();
  /** A global pool's spec.namespaceSelector, parsed; undefined: every namespace. */
  namespaceSelector: LabelSelector | undefined;
  /** spec.preAllocations: claim key (namespace/name) → address, and back. */
  private readonly pinByClaim = new Map<string, string>();
  private readonly pinByAddress = new Map<string, string>();
  /**
   * Pinned addresses whose bit is set for the pin itself (they are in the allocatable set): no
   * other claim's search finds them, so they are not free, held or not.
   */
  private readonly pinnedBits = new Set<string>();

  constructor(
    readonly key: string,
    readonly kind: string,
    public pool: PoolObject,
    readonly allocator: AddressAllocator | undefined,
    /** Why the spec is unusable (got in while webhooks were off); undefined when valid. */
    readonly invalidReason: string | undefined,
    /** Canonical pins, claim key → address; the first of two for one claim or address wins. */
    pins: Iterable<readonly [string, string]> = [],
  ) {
    for (const [claim, address] of pins) {
      if (this.pinByClaim.has(claim) || this.pinByAddress.has(address)) continue;
      this.pinByClaim.set(claim, address);
      this.pinByAddress.set(address, claim);
      const outcome = allocator?.reserve(address);
      if (outcome === 'reserved') this.pinnedBits.add(address);
      // The allocator records an out-of-range reservation; a pin that cannot be honoured holds nothing.
      else if (outcome === 'outside') allocator?.release(address);
    }
  }

  /** The address pinned to this claim key, if any. */
  pinOf(claim: string): string | undefined {
    return this.pinByClaim.get(claim);
  }

  get hasPins(): boolean {
    return this.pinByClaim.size > 0;
  }

  get valid(): boolean {
    return this.allocator !== undefined;
  }

  /**
   * What the IPAddress for `held` says. An IP pool holds addresses and writes its own prefix (the
   * subnet length); a prefix pool holds `network/length` and writes the network and the length.
   */
  ipAddressFields(held: string): IPAddressFields {
    const spec = this.pool.spec;
    if (!isPrefixPoolKind(this.kind))
      return { address: held, prefix: (spec as IPPool['spec']).prefix, gateway: spec.gateway };
    const slash = held.lastIndexOf('/');
    return { address: held.slice(0, slash), prefix: Number(held.slice(slash + 1)), gateway: spec.gateway };
  }

  /** An allocation as messages name it: the address, or for prefix pools `network/length`. */
  allocationText(address: string, prefix: number | undefined): string {
    return isPrefixPoolKind(this.kind) && prefix !== undefined ? `${address}/${prefix}` : address;
  }

  /** Seconds a released address stays held (IP pools only; prefix pools have no grace period). */
  get gracePeriodSeconds(): number {
    const spec = this.pool.spec as Partial<IPPool['spec']> | undefined;
    return isPrefixPoolKind(this.kind) ? 0 : (spec?.addressReuseGracePeriodSeconds ?? 0);
  }

  /** The address `holder` has (reserved or allocated), if any. */
  addressOf(holder: string): string | undefined {
    return this.heldBy.get(holder);
  }

  holdersOf(address: string): ReadonlySet<string> {
    const held = this.holders.get(address);
    return typeof held === 'string' ? new Set([held]) : (held ?? new Set());
  }

  /** Every address held (reserved or allocated), for the webhook's update check. */
  addresses(): string[] {
    return [...this.holders.keys()];
  }

  /** holder → address, for every holder. */
  holdings(): IterableIterator<[string, string]> {
    return this.heldBy.entries();
  }

  /** IPAddresses beyond the first on an address they share: duplicates there are now. */
  get duplicates(): number {
    return this.heldBy.size - this.holders.size;
  }

  get holderCount(): number {
    return this.heldBy.size;
  }

  /** Reserves the lowest free address for `holder` synchronously: no await between pick and mark. */
  reserveNext(holder: string): string | undefined {
    const existing = this.heldBy.get(holder);
    if (existing !== undefined) return existing;
    const address = this.allocator?.reserveNext();
    if (address === undefined) return undefined;
    this.link(address, holder);
    return address;
  }

  /**
   * Reserves one chosen address for `holder`, synchronously like reserveNext: its pin, or the
   * address its claim asks for. Never takes an address from its holder or from another claim's pin.
   * A holder that already has a reservation keeps it (an IPAddress may be on its way for it).
   */
  reserveChosen(holder: string, address: string): ChosenOutcome {
    const existing = this.heldBy.get(holder);
    if (existing !== undefined) return existing === address ? { reserved: existing } : { heldBy: holder };
    const others = this.holders.get(address);
    if (others !== undefined) return { heldBy: typeof others === 'string' ? others : ([...others][0] ?? '') };
    const pinnedTo = this.pinByAddress.get(address);
    if (pinnedTo !== undefined && pinnedTo !== holder) return { pinnedTo };
    if (!this.pinnedBits.has(address)) {
      const outcome = this.allocator?.reserve(address) ?? 'outside';
      if (outcome === 'outside') {
        this.allocator?.release(address);
        return { outside: true };
      }
      // Set but held by nobody: a prefix child covered by a hold of another length.
      if (outcome === 'taken') return { heldBy: '' };
    }
    this.link(address, holder);
    return { reserved: address };
  }

  /**
   * Records that `holder` has `address` (an IPAddress seen in the API, or adopted). Idempotent for
   * the same pair; a different earlier address of the same holder is released first.
   */
  hold(address: string, holder: string): HoldResult {
    const previous = this.heldBy.get(holder);
    if (previous === address) return {};
    if (previous !== undefined) this.unhold(holder);
    const others = this.holders.get(address);
    const duplicateOf = typeof others === 'string' ? others : others ? [...others][0] : undefined;
    if (!duplicateOf) this.allocator?.reserve(address);
    this.link(address, holder);
    return duplicateOf ? { duplicateOf } : {};
  }

  /** Drops `holder`'s address; the bit is freed only when nobody else holds it. Returns it if freed. */
  unhold(holder: string): string | undefined {
    const address = this.heldBy.get(holder);
    if (address === undefined) return undefined;
    this.heldBy.delete(holder);
    const held = this.holders.get(address);
    if (held instanceof Set) {
      held.delete(holder);
      if (held.size > 1) return undefined;
      const [last] = held;
      if (last !== undefined) {
        this.holders.set(address, last);
        return undefined;
      }
    } else if (held !== undefined && held !== holder) {
      return undefined;
    }
    this.holders.delete(address);
    // A pinned address stays set for its pin: freed from its holder, it is still nobody else's.
    if (!this.pinnedBits.has(address)) this.allocator?.release(address);
    return address;
  }

  /**
   * Counts as the Go provider defines them (used = IPAddresses of the pool, outOfRange = distinct
   * addresses outside the allocatable set) except that free never goes below zero: it is the
   * allocatable addresses nobody holds.
   */
  counts(): PoolCounts {
    const used = BigInt(this.heldBy.size);
    const distinct = BigInt(this.holders.size);
    const allocator = this.allocator;
    if (!allocator) return { total: 0n, used, free: 0n, outOfRange: distinct, preAllocated: 0n };
    let pinnedFree = 0n;
    for (const address of this.pinnedBits) if (!this.holders.has(address)) pinnedFree++;
    // The allocator's set bits are the held in-range addresses plus the pins nobody holds yet.
    const inRange = allocator.used;
    return {
      total: allocator.total,
      used,
      free: allocator.total - inRange,
      outOfRange: distinct - (inRange - pinnedFree),
      preAllocated: pinnedFree,
    };
  }

  /** Carries every holder over to `next` (a new spec): allocations are kept, never revoked. */
  moveTo(next: PoolState): void {
    for (const [holder, address] of this.heldBy) next.hold(address, holder);
    for (const claim of this.waiting) next.waiting.add(claim);
  }

  private link(address: string, holder: string): void {
    this.heldBy.set(holder, address);
    const held = this.holders.get(address);
    if (held === undefined || held === holder) this.holders.set(address, holder);
    else if (typeof held === 'string') this.holders.set(address, new Set([held, holder]));
    else held.add(holder);
  }
}
