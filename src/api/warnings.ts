/**
 * Admission warnings for IP pools, pure. The Go provider admits both cases below (a gateway outside
 * the subnet is rejected upstream as "not needed", issue #168; overlapping pools can be legitimate,
 * #272), so for compatibility they are warnings, never errors: kubectl prints them, nothing fails.
 */
import { formatIP, formatRanges, type IPFamily, poolAllocatableSet } from '../ip/index.js';
import type { IPPoolSpec } from './ippool-types.js';

/** Another pool the cluster holds, as far as the caller knows them. */
export interface KnownPool {
  kind: string;
  /** Undefined for global pools. */
  namespace?: string | undefined;
  name: string;
  spec: IPPoolSpec;
}

/** At most this many overlapping pools are named; the rest are counted. */
const MAX_OVERLAPS_NAMED = 5;
/** At most this many ranges of one overlap are listed. */
const MAX_RANGES_SHOWN = 3;

function poolName(p: Pick<KnownPool, 'kind' | 'namespace' | 'name'>): string {
  return p.namespace ? `${p.kind} ${p.namespace}/${p.name}` : `${p.kind} ${p.name}`;
}

function cidrText(family: IPFamily, first: bigint, prefix: number): string {
  return `${formatIP({ family, value: first })}/${prefix}`;
}

/**
 * Warnings for a valid spec (an invalid one gets errors instead, and no warnings): a gateway outside
 * the subnet inferred from the lowest address and `prefix`, and every other pool whose allocatable
 * set shares addresses with this one's — both would hand the same address to two machines.
 */
export function ipPoolWarnings(
  self: Pick<KnownPool, 'kind' | 'namespace' | 'name'>,
  spec: IPPoolSpec,
  others: Iterable<KnownPool> = [],
): string[] {
  const set = poolAllocatableSet(spec);
  if (!set.ok) return [];
  const { family, subnet, gateway, addresses } = set.value;
  const warnings: string[] = [];
  if (gateway && subnet && gateway.family === family) {
    if (gateway.value < subnet.first || gateway.value > subnet.last) {
      warnings.push(
        `spec.gateway: ${formatIP(gateway)} is outside the pool's subnet ${cidrText(family, subnet.first, spec.prefix)} ` +
          '(its lowest address with spec.prefix); hosts given these addresses may not reach it',
      );
    }
  }

  const overlaps: string[] = [];
  for (const other of others) {
    if (
      other.kind === self.kind &&
      (other.namespace ?? '') === (self.namespace ?? '') &&
      other.name === self.name
    )
      continue;
    const theirs = poolAllocatableSet(other.spec);
    if (!theirs.ok || theirs.value.family !== family || !theirs.value.addresses.overlaps(addresses)) continue;
    const shared = formatRanges(family, theirs.value.addresses.intersect(addresses));
    const shown = shared.slice(0, MAX_RANGES_SHOWN).join(', ');
    const more =
      shared.length > MAX_RANGES_SHOWN ? ` and ${shared.length - MAX_RANGES_SHOWN} more ranges` : '';
    overlaps.push(`${poolName(other)} (${shown}${more})`);
  }
  if (overlaps.length > 0) {
    const named = overlaps.slice(0, MAX_OVERLAPS_NAMED).join('; ');
    const more =
      overlaps.length > MAX_OVERLAPS_NAMED ? `; and ${overlaps.length - MAX_OVERLAPS_NAMED} more pools` : '';
    warnings.push(
      `spec.addresses: overlaps ${named}${more}; each pool may hand out these addresses, so two machines ` +
        'can get the same one — use excludedAddresses or disjoint ranges unless that is intended',
    );
  }
  return warnings;
}
