/**
 * A pool's allocatable set, computed exactly as the Go provider's `PoolSpecToIPSet`:
 *   union(addresses) − union(excludedAddresses)
 *   − reserved (first address of the subnet inferred from the lowest address and `prefix`, and for
 *     IPv4 also its last), unless `allocateReservedIPAddresses`
 *   − gateway.
 * Go's corner cases are kept on purpose: a /31 or /32 IPv4 pool loses both (or its only) address
 * unless `allocateReservedIPAddresses`, an IPv6 /127 or /128 loses its first, prefix 0 reserves
 * 0.0.0.0 / 255.255.255.255 / `::`, and a prefix that does not fit the family reserves nothing.
 */
import { fail, formatIP, type IP, type IPFamily, ok, parseIP, type Result } from './address.js';
import { type AddressEntry, inferSubnet, parseEntry } from './entry.js';
import { IntervalSet, type Range } from './interval-set.js';

/** The fields of an IP pool spec that decide which addresses may be handed out. */
export interface PoolSpecInput {
  readonly addresses: readonly string[];
  readonly prefix: number;
  readonly gateway?: string | undefined;
  readonly excludedAddresses?: readonly string[] | undefined;
  readonly allocateReservedIPAddresses?: boolean | undefined;
}

/** A pool's allocatable set and what it was derived from. */
export interface AllocatableSet {
  readonly family: IPFamily;
  /** The addresses that may be handed out, sorted and merged. */
  readonly addresses: IntervalSet;
  /** The subnet inferred from the lowest address and `prefix`; undefined if `prefix` does not fit. */
  readonly subnet: Range | undefined;
  /** The gateway, if set. It is never in `addresses`. */
  readonly gateway: IP | undefined;
}

/** Parsed entries and their union per family; the first failing entry ends the parse. */
export interface ParsedEntries {
  readonly entries: readonly AddressEntry[];
  readonly v4: IntervalSet;
  readonly v6: IntervalSet;
}

/** Parses entries (IPs, ranges, CIDRs) and unions them per family. */
export function parseEntries(texts: readonly string[]): Result<ParsedEntries> {
  const entries: AddressEntry[] = [];
  const v4: Range[] = [];
  const v6: Range[] = [];
  for (const text of texts) {
    const parsed = parseEntry(text);
    if (!parsed.ok) return parsed;
    entries.push(parsed.value);
    (parsed.value.family === 4 ? v4 : v6).push(parsed.value);
  }
  return ok({ entries, v4: IntervalSet.of(v4), v6: IntervalSet.of(v6) });
}

/**
 * The lowest address of all entries, as Go's `AddressesToIPSet(...).Ranges()[0].From()`: IPv4
 * sorts before IPv6. Undefined for an empty list.
 */
export function lowestAddress(texts: readonly string[]): Result<IP | undefined> {
  const parsed = parseEntries(texts);
  if (!parsed.ok) return parsed;
  const { v4, v6 } = parsed.value;
  if (v4.lowest !== undefined) return ok({ family: 4, value: v4.lowest });
  if (v6.lowest !== undefined) return ok({ family: 6, value: v6.lowest });
  return ok(undefined);
}

/**
 * Computes the allocatable set of a pool spec. Fails (with a message naming the entry) when an
 * entry does not parse, when `addresses` is empty, or when `addresses` mixes IPv4 and IPv6 — the
 * webhook rejects all of these; the controller must report such a pool rather than allocate from it.
 * Excluded entries and a gateway of the other family remove nothing, as in Go.
 */
export function poolAllocatableSet(spec: PoolSpecInput): Result<AllocatableSet> {
  // `?? []` and the typeof check: a pool that got in while webhooks were off may carry nulls.
  const parsed = parseEntries(spec.addresses ?? []);
  if (!parsed.ok) return parsed;
  const { v4, v6 } = parsed.value;
  if (v4.isEmpty && v6.isEmpty) return fail('addresses is required');
  if (!v4.isEmpty && !v6.isEmpty) return fail('provided addresses are of mixed IP families');
  const family: IPFamily = v4.isEmpty ? 6 : 4;
  const pool = family === 4 ? v4 : v6;

  const excluded = parseEntries(spec.excludedAddresses ?? []);
  if (!excluded.ok) return excluded;
  const removed: Range[] = [...(family === 4 ? excluded.value.v4 : excluded.value.v6).ranges];

  // The subnet is inferred from the lowest address before exclusions, as in Go.
  const lowest: IP = { family, value: pool.lowest! };
  const subnetResult = inferSubnet(lowest, spec.prefix);
  const subnet = subnetResult.ok
    ? { first: subnetResult.value.first, last: subnetResult.value.last }
    : undefined;
  if (spec.allocateReservedIPAddresses !== true && subnet !== undefined) {
    removed.push({ first: subnet.first, last: subnet.first });
    if (family === 4) removed.push({ first: subnet.last, last: subnet.last });
  }

  let gateway: IP | undefined;
  if (typeof spec.gateway === 'string' && spec.gateway !== '') {
    const parsedGateway = parseIP(spec.gateway);
    if (!parsedGateway.ok) return fail(`gateway ${JSON.stringify(spec.gateway)}: ${parsedGateway.error}`);
    gateway = parsedGateway.value;
    if (gateway.family === family) removed.push({ first: gateway.value, last: gateway.value });
  }

  return ok({ family, addresses: pool.subtract(IntervalSet.of(removed)), subnet, gateway });
}

/** Formats a set of one family as Go's `IPSet` prints ranges: `a`, or `a-b`. */
export function formatRanges(family: IPFamily, set: IntervalSet): string[] {
  return set.ranges.map((r) =>
    r.first === r.last
      ? formatIP({ family, value: r.first })
      : `${formatIP({ family, value: r.first })}-${formatIP({ family, value: r.last })}`,
  );
}
