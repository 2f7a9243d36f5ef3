/**
 * Which addresses kube-vip-cloud-provider hands out from one value of its ConfigMap, pure. Read
 * from its source (pkg/ipam, pkg/provider, pkg/config; main at d3522c6), its rules are:
 *
 * - a value holding a `/` is a comma-separated list of CIDRs (Go's netip.ParsePrefix, host bits
 *   allowed and masked off), any other value a comma-separated list of `a-b` ranges — whatever the
 *   key says (`cidr-…` or `range-…`); no spaces, no empty items;
 * - the items are unioned per family, so overlapping or adjacent items merge;
 * - of a CIDR, every address is handed out (network and broadcast included), unless
 *   `skip-end-ips-in-cidr: "true"`: then, of every IPv4 prefix of the merged set except /31 and
 *   /32, the first and the last are not;
 * - an IPv4 address whose last byte is 0 or 255 is never handed out, from a CIDR or a range alike;
 * - the value `0.0.0.0/32` is not a pool: every Service gets 0.0.0.0 (kube-vip's DHCP mode).
 */
import {
  familyBits,
  formatIP,
  IntervalSet,
  type IPFamily,
  parseCIDR,
  parseIP,
  type Range,
} from '../ip/index.js';

/** kube-vip-cloud-provider's value for "every Service gets 0.0.0.0, kube-vip asks DHCP". */
export const KUBE_VIP_DHCP_VALUE = '0.0.0.0/32';

export interface KubeVipAddresses {
  /** How kube-vip-cloud-provider reads the value: as CIDRs (it holds a `/`) or as ranges. */
  readAs: 'cidr' | 'range';
  /** Per family, exactly the addresses it may hand out (empty when the value has none of it). */
  v4: IntervalSet;
  v6: IntervalSet;
  /** Addresses of the value it never hands out (the rules above), per family. */
  skipped: { v4: IntervalSet; v6: IntervalSet };
}

export type AddressesResult = { ok: true; value: KubeVipAddresses } | { ok: false; error: string };

/**
 * The addresses of one `cidr-…` or `range-…` value. `skipEndIPsInCIDR` is the ConfigMap's
 * `skip-end-ips-in-cidr: "true"`. The error says which item is wrong and why.
 */
export function kubeVipAddresses(value: string, skipEndIPsInCIDR: boolean): AddressesResult {
  const readAs = value.includes('/') ? 'cidr' : 'range';
  const ranges: Record<IPFamily, Range[]> = { 4: [], 6: [] };
  for (const item of value.split(',')) {
    const parsed = readAs === 'cidr' ? cidrItem(item) : rangeItem(item);
    if (!parsed.ok) return parsed;
    ranges[parsed.family].push(parsed.range);
  }
  const written = { v4: IntervalSet.of(ranges[4]), v6: IntervalSet.of(ranges[6]) };
  let v4 = written.v4;
  if (readAs === 'cidr' && skipEndIPsInCIDR) v4 = withoutPrefixEnds(v4);
  v4 = v4.subtract(lastByteZeroOr255(v4));
  const v6 = written.v6;
  return {
    ok: true,
    value: { readAs, v4, v6, skipped: { v4: written.v4.subtract(v4), v6: IntervalSet.EMPTY } },
  };
}

type Item = { ok: true; family: IPFamily; range: Range } | { ok: false; error: string };

function cidrItem(item: string): Item {
  const cidr = parseCIDR(item);
  if (!cidr.ok) return { ok: false, error: `${JSON.stringify(item)} is not a CIDR: ${cidr.error}` };
  return { ok: true, family: cidr.value.family, range: { first: cidr.value.first, last: cidr.value.last } };
}

/**
 * kube-vip-cloud-provider silently skips a reversed or mixed-family range (netipx ignores an
 * invalid one); here it is an error, as it hands out nothing and is surely a typo.
 */
function rangeItem(item: string): Item {
  const ends = item.split('-');
  if (ends.length !== 2) return { ok: false, error: `${JSON.stringify(item)} is not a range <first>-<last>` };
  const [from, to] = ends.map((e) => parseIP(e ?? ''));
  if (!from?.ok) return { ok: false, error: `${JSON.stringify(item)}: ${from?.error}` };
  if (!to?.ok) return { ok: false, error: `${JSON.stringify(item)}: ${to?.error}` };
  if (from.value.family !== to.value.family)
    return { ok: false, error: `${JSON.stringify(item)} mixes IPv4 and IPv6` };
  if (from.value.value > to.value.value)
    return {
      ok: false,
      error: `${JSON.stringify(item)} is reversed: its first address comes after its last`,
    };
  return { ok: true, family: from.value.family, range: { first: from.value.value, last: to.value.value } };
}

/** Every address ending in .0 or .255 within the set's span (x.255 and x+1.0 merge into one range). */
function lastByteZeroOr255(set: IntervalSet): IntervalSet {
  const out: Range[] = [];
  for (const r of set.ranges) {
    for (let block = r.first >> 8n; block <= r.last >> 8n; block++) {
      out.push(
        { first: block << 8n, last: block << 8n },
        { first: (block << 8n) | 255n, last: (block << 8n) | 255n },
      );
    }
  }
  return IntervalSet.of(out);
}

/** skip-end-ips-in-cidr: the set without the first and last address of each prefix longer than /31. */
function withoutPrefixEnds(set: IntervalSet): IntervalSet {
  const ends: Range[] = [];
  for (const r of set.ranges) {
    for (const p of prefixesOf(4, r)) {
      if (p.length >= 31) continue;
      ends.push({ first: p.first, last: p.first }, { first: p.last, last: p.last });
    }
  }
  return set.subtract(IntervalSet.of(ends));
}

/** The fewest prefixes that make up a range, lowest first (netipx's IPSet.Prefixes). */
export function prefixesOf(family: IPFamily, r: Range): (Range & { length: number })[] {
  const bits = familyBits(family);
  const out: (Range & { length: number })[] = [];
  let first = r.first;
  while (first <= r.last) {
    let hostBits = 0;
    for (;;) {
      const size = 1n << BigInt(hostBits + 1);
      if (hostBits === bits || first % size !== 0n || first + size - 1n > r.last) break;
      hostBits++;
    }
    const last = first + (1n << BigInt(hostBits)) - 1n;
    out.push({ first, last, length: bits - hostBits });
    first = last + 1n;
  }
  return out;
}

/** A range as a pool entry: one address, one CIDR when it is exactly one, else `first-last`. */
export function formatEntry(family: IPFamily, r: Range): string {
  const first = formatIP({ family, value: r.first });
  if (r.first === r.last) return first;
  const [only, more] = prefixesOf(family, r);
  if (only && !more) return `${first}/${only.length}`;
  return `${first}-${formatIP({ family, value: r.last })}`;
}

/** The longest prefix holding every address of a non-empty set. */
export function coveringPrefixLength(family: IPFamily, set: IntervalSet): number {
  const differing = (set.lowest ?? 0n) ^ (set.highest ?? 0n);
  return familyBits(family) - (differing === 0n ? 0 : differing.toString(2).length);
}
