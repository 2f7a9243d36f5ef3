/**
 * Addresses people choose: the one a pool pins to a claim (spec.preAllocations) and the one a claim
 * asks for (its requested-address annotation). Pure: what the claim asks for, in the form the pool
 * holds addresses, and — when the pool cannot give it — which rule keeps it out.
 */
import { isPrefixPoolKind } from '../api/constants.js';
import type { IPPool } from '../api/ippool-types.js';
import { effectiveAllocationPrefixLength, type PrefixPool } from '../api/prefixpool-types.js';
import { formatIP, formatPrefix, type IP, parseCIDR, parseEntry, parseIP, parsePrefix } from '../ip/index.js';
import type { PoolObject } from './pool-state.js';

export const ANNOTATION_REQUESTED_ADDRESS = 'ipam.cluster.x-k8s.io/requested-address';

export type Choice =
  | { kind: 'none' }
  | { kind: 'chosen'; address: string; pinned: boolean }
  | { kind: 'refused'; reason: 'InvalidRequestedAddress' | 'AddressConflict'; message: string };

/** An address as a pool of this kind holds it: a canonical IP, or a masked `network/length`. */
export function canonicalChoice(
  kind: string,
  text: string,
): { ok: true; value: string } | { ok: false; error: string } {
  if (isPrefixPoolKind(kind)) {
    const prefix = parsePrefix(text.trim());
    return prefix.ok ? { ok: true, value: formatPrefix(prefix.value) } : prefix;
  }
  const ip = parseIP(text.trim());
  return ip.ok ? { ok: true, value: formatIP(ip.value) } : ip;
}

/** What this claim asks for: its pin wins; a requested address that differs from it is a conflict. */
export function chosenAddress(kind: string, pin: string | undefined, requested: string | undefined): Choice {
  const asked = requested === undefined ? undefined : canonicalChoice(kind, requested);
  if (asked && !asked.ok) {
    return {
      kind: 'refused',
      reason: 'InvalidRequestedAddress',
      message: `annotation ${ANNOTATION_REQUESTED_ADDRESS} is not an address: ${asked.error}`,
    };
  }
  if (pin !== undefined) {
    if (asked?.ok && asked.value !== pin) {
      return {
        kind: 'refused',
        reason: 'AddressConflict',
        message: `the pool pins ${pin} to this claim (spec.preAllocations), but its annotation ${ANNOTATION_REQUESTED_ADDRESS} asks for ${asked.value}`,
      };
    }
    return { kind: 'chosen', address: pin, pinned: true };
  }
  return asked ? { kind: 'chosen', address: asked.value, pinned: false } : { kind: 'none' };
}

/** Which rule keeps `address` (canonical) out of the pool's allocatable set, as a sentence part. */
export function whyNotAllocatable(kind: string, pool: PoolObject, address: string): string {
  return isPrefixPoolKind(kind)
    ? whyPrefixNotAllocatable((pool as PrefixPool).spec, address)
    : whyIPNotAllocatable((pool as IPPool).spec, address);
}

function contains(entryText: string, ip: IP): boolean {
  const entry = parseEntry(entryText);
  return (
    entry.ok &&
    entry.value.family === ip.family &&
    entry.value.first <= ip.value &&
    ip.value <= entry.value.last
  );
}

function whyIPNotAllocatable(spec: IPPool['spec'], address: string): string {
  const parsed = parseIP(address);
  if (!parsed.ok) return `${address} is not an address`;
  const ip = parsed.value;
  if (!(spec.addresses ?? []).some((e) => contains(e, ip))) return `${address} is not in spec.addresses`;
  const excluded = (spec.excludedAddresses ?? []).find((e) => contains(e, ip));
  if (excluded !== undefined) return `${address} is excluded by spec.excludedAddresses entry ${excluded}`;
  if (spec.gateway !== undefined && contains(spec.gateway, ip)) return `${address} is the pool's gateway`;
  // Inside the addresses, not excluded, not the gateway: what is left is the reserved rule.
  return ip.family === 4
    ? `${address} is the network or broadcast address of the pool's subnet (spec.allocateReservedIPAddresses is not set)`
    : `${address} is the subnet-router anycast address of the pool's subnet (spec.allocateReservedIPAddresses is not set)`;
}

function whyPrefixNotAllocatable(spec: PrefixPool['spec'], address: string): string {
  const prefix = parsePrefix(address);
  if (!prefix.ok) return `${address} is not a prefix`;
  const length = effectiveAllocationPrefixLength(spec);
  if (prefix.value.length !== length)
    return `${address} is a /${prefix.value.length}; the pool hands out /${length}s`;
  const inPrefixes = (spec.prefixes ?? []).some((p) => {
    const cidr = parseCIDR(p);
    return (
      cidr.ok &&
      cidr.value.family === 6 &&
      cidr.value.first <= prefix.value.network &&
      prefix.value.network <= cidr.value.last
    );
  });
  if (!inPrefixes) return `${address} is not in spec.prefixes`;
  return `${address} overlaps spec.excludedPrefixes`;
}
