/**
 * What is particular to prefix pools in the controller: their pool state (validation and the
 * prefix allocator) and the key an IPAddress of theirs is held under. Everything else — claims,
 * reservations, status, finalizers — is the IP pools' flow.
 */

import { PrefixAllocator, type PrefixAllocatorOptions } from '../allocator/index.js';
import { aggregateMessage } from '../api/errors.js';
import { effectiveAllocationPrefixLength, type PrefixPool } from '../api/prefixpool-types.js';
import { validatePrefixPoolObject } from '../api/validate-prefix.js';
import { formatPrefix, prefixOfAddress } from '../ip/index.js';
import { type PoolObject, PoolState } from './pool-state.js';

/**
 * A prefix pool's IPAddress holds `spec.address/spec.prefix`, masked (the Go provider's
 * PrefixFromIPAddress). One without a usable prefix holds its address as a /128, so that the child
 * containing it is not handed out; an address that does not parse is held as written (out of range).
 */
export function prefixHoldKey(address: string, prefix: unknown): string {
  const held = prefixOfAddress(address, prefix);
  if (held.ok) return formatPrefix(held.value);
  const host = prefixOfAddress(address, 128);
  return host.ok ? formatPrefix(host.value) : address;
}

/** The state of a prefix pool; invalid (nothing handed out, Ready False) when its spec is. */
export function prefixPoolState(
  key: string,
  kind: string,
  pool: PoolObject,
  pins: Iterable<readonly [string, string]> = [],
  options: PrefixAllocatorOptions = {},
): PoolState {
  const errors = validatePrefixPoolObject(pool, kind);
  if (errors.length > 0) return new PoolState(key, kind, pool, undefined, aggregateMessage(errors));
  const spec = (pool as PrefixPool).spec;
  const allocator = PrefixAllocator.fromSpec(
    {
      prefixes: spec.prefixes,
      allocationPrefixLength: effectiveAllocationPrefixLength(spec),
      excludedPrefixes: spec.excludedPrefixes,
    },
    options,
  );
  if (!allocator.ok) return new PoolState(key, kind, pool, undefined, allocator.error);
  return new PoolState(key, kind, pool, allocator.value, undefined, pins);
}
