/**
 * Prefix pools' math (anchor §3.7), pure: the candidate child prefixes of a pool are the
 * `/allocationPrefixLength` prefixes inside `prefixes` that overlap no excluded entry. A child is
 * named by its index, `network address >> (128 − length)`, so the candidates form an interval set
 * of indices and "lowest free index" is the Go provider's first-fit lowest-address search.
 */
import { fail, formatIP, ok, parseIP, type Result } from './address.js';
import { parseCIDR, parseEntry, subnetRange } from './entry.js';
import { IntervalSet, type Range } from './interval-set.js';

/** The fields of a prefix pool spec that decide which prefixes may be handed out. */
export interface PrefixSpecInput {
  readonly prefixes: readonly string[];
  /** Already defaulted (64 when unset). */
  readonly allocationPrefixLength: number;
  readonly excludedPrefixes?: readonly string[] | undefined;
}

/** A prefix pool's candidate children. */
export interface PrefixCandidates {
  readonly allocationPrefixLength: number;
  /** Host bits of a child: 128 − allocationPrefixLength. */
  readonly shift: bigint;
  /** Indices of the children that may be handed out, sorted and merged. */
  readonly children: IntervalSet;
}

/** One IPv6 prefix: its masked network address and length. */
export interface Prefix {
  readonly network: bigint;
  readonly length: number;
}

function childRange(r: Range, shift: bigint): Range {
  return { first: r.first >> shift, last: r.last >> shift };
}

/**
 * The candidates of a spec. Fails, naming the entry, as the Go provider's PrefixesToIPSet and
 * AddressesToIPSet do: a prefix that is not an aligned IPv6 CIDR, or an excluded entry that does not
 * parse. IPv4 excluded entries remove nothing; prefixes longer than the allocation length hold no child.
 */
export function prefixCandidates(spec: PrefixSpecInput): Result<PrefixCandidates> {
  const length = spec.allocationPrefixLength;
  if (!Number.isInteger(length) || length < 1 || length > 128) return fail(`invalid prefix length ${length}`);
  const shift = BigInt(128 - length);
  const pool: Range[] = [];
  for (const text of spec.prefixes ?? []) {
    const cidr = parseCIDR(text);
    if (!cidr.ok) return fail(`invalid pool CIDR ${JSON.stringify(text)}: ${cidr.error}`);
    if (cidr.value.family !== 6) return fail(`pool CIDR ${JSON.stringify(text)} is not IPv6`);
    if (cidr.value.hostBitsSet) return fail(`pool CIDR ${JSON.stringify(text)} is not network aligned`);
    // A prefix longer than the children holds none whole: Go's search skips it too.
    if (cidr.value.prefixLength <= length) pool.push(childRange(cidr.value, shift));
  }
  if (pool.length === 0) return fail('prefixes is required');
  const excluded: Range[] = [];
  for (const text of spec.excludedPrefixes ?? []) {
    const entry = parseEntry(text);
    if (!entry.ok) return entry;
    // Every child the excluded range touches overlaps it, so is not a candidate.
    if (entry.value.family === 6) excluded.push(childRange(entry.value, shift));
  }
  return ok({
    allocationPrefixLength: length,
    shift,
    children: IntervalSet.of(pool).subtract(IntervalSet.of(excluded)),
  });
}

/** The child with index `index`, as the text `network/length`. */
export function formatChild(
  candidates: Pick<PrefixCandidates, 'shift' | 'allocationPrefixLength'>,
  index: bigint,
): string {
  return formatPrefix({ network: index << candidates.shift, length: candidates.allocationPrefixLength });
}

export function formatPrefix(p: Prefix): string {
  return `${formatIP({ family: 6, value: p.network })}/${p.length}`;
}

/**
 * The prefix an IPAddress of a prefix pool holds: `address/prefix`, masked, as the Go provider's
 * PrefixFromIPAddress. Fails for a missing or out-of-range prefix or an address that is not IPv6.
 */
export function prefixOfAddress(address: string, prefix: unknown): Result<Prefix> {
  if (typeof prefix !== 'number' || !Number.isInteger(prefix) || prefix < 0 || prefix > 128)
    return fail(`address ${address} has no valid prefix`);
  const ip = parseIP(address);
  if (!ip.ok) return ip;
  if (ip.value.family !== 6) return fail(`address ${address} is not IPv6`);
  return ok({ network: subnetRange(6, ip.value.value, prefix).first, length: prefix });
}

/** Parses the `network/length` text of {@link formatPrefix} (or any IPv6 CIDR, masked). */
export function parsePrefix(text: string): Result<Prefix> {
  const cidr = parseCIDR(text);
  if (!cidr.ok) return cidr;
  if (cidr.value.family !== 6) return fail(`${text} is not IPv6`);
  return ok({ network: cidr.value.first, length: cidr.value.prefixLength });
}

/** The indices of the children `p` overlaps (one for a longer prefix, many for a shorter one). */
export function overlappedChildren(candidates: Pick<PrefixCandidates, 'shift'>, p: Prefix): Range {
  return childRange(subnetRange(6, p.network, p.length), candidates.shift);
}

/**
 * The index of `p` when it is a candidate child (exact length, inside the prefixes, overlapping no
 * excluded entry: the Go provider's PrefixIsAllocatable), else undefined.
 */
export function candidateIndex(candidates: PrefixCandidates, p: Prefix): bigint | undefined {
  if (p.length !== candidates.allocationPrefixLength) return undefined;
  const index = p.network >> candidates.shift;
  return candidates.children.contains(index) ? index : undefined;
}
