/**
 * Entries of a pool's `addresses` / `excludedAddresses`: a single IP, an `a-b` range or a CIDR.
 * The kind is chosen the way the Go provider chooses it: a `-` makes a range, else a `/` makes a
 * CIDR, else it is a single IP.
 */
import {
  fail,
  familyBits,
  familyMax,
  formatIP,
  type IP,
  type IPFamily,
  ok,
  parseIP,
  type Result,
} from './address.js';
import type { Range } from './interval-set.js';

/** A parsed entry: the inclusive range of addresses it stands for. */
export interface AddressEntry {
  readonly kind: 'ip' | 'range' | 'cidr';
  /** The text as written, for messages. */
  readonly text: string;
  readonly family: IPFamily;
  readonly first: bigint;
  readonly last: bigint;
}

/** A parsed CIDR. `address` is the address as written, which may have host bits set. */
export interface CIDR extends AddressEntry {
  readonly kind: 'cidr';
  readonly address: bigint;
  readonly prefixLength: number;
  /** True for `10.0.0.5/24`: Go (and so we) treat it as `10.0.0.0/24`, prefix pools refuse it. */
  readonly hostBitsSet: boolean;
}

/** First and last address of the subnet of `prefixLength` bits that holds `value`. */
export function subnetRange(family: IPFamily, value: bigint, prefixLength: number): Range {
  const hostBits = BigInt(familyBits(family) - prefixLength);
  const hostMask = (1n << hostBits) - 1n;
  const first = value & (familyMax(family) ^ hostMask);
  return { first, last: first | hostMask };
}

/** Parses `a/n` like Go's `netip.ParsePrefix`: no sign or leading zero in `n`, no zone. */
export function parseCIDR(text: string): Result<CIDR> {
  const slash = text.lastIndexOf('/');
  const prefixError = (message: string) =>
    fail<CIDR>(`netip.ParsePrefix(${JSON.stringify(text)}): ${message}`);
  if (slash < 0) return prefixError("no '/'");
  const address = parseIP(text.slice(0, slash));
  if (!address.ok) return prefixError(address.error);
  const bitsText = text.slice(slash + 1);
  if (!/^(0|[1-9][0-9]*)$/.test(bitsText))
    return prefixError(`bad bits after slash: ${JSON.stringify(bitsText)}`);
  const prefixLength = Number(bitsText);
  const { family, value } = address.value;
  if (prefixLength > familyBits(family)) return prefixError('prefix length out of range');
  const { first, last } = subnetRange(family, value, prefixLength);
  return ok({
    kind: 'cidr',
    text,
    family,
    first,
    last,
    address: value,
    prefixLength,
    hostBitsSet: value !== first,
  });
}

/** Parses `a-b` like Go's `netipx.ParseIPRange`: both ends of one family, `a <= b`. */
export function parseRange(text: string): Result<AddressEntry> {
  const dash = text.indexOf('-');
  if (dash < 0) return fail(`no hyphen in range ${JSON.stringify(text)}`);
  const fromText = text.slice(0, dash);
  const toText = text.slice(dash + 1);
  const from = parseIP(fromText);
  if (!from.ok)
    return fail(
      `invalid From IP ${JSON.stringify(fromText)} in range ${JSON.stringify(text)}: ${from.error}`,
    );
  const to = parseIP(toText);
  if (!to.ok)
    return fail(`invalid To IP ${JSON.stringify(toText)} in range ${JSON.stringify(text)}: ${to.error}`);
  if (from.value.family !== to.value.family) {
    return fail(`range ${JSON.stringify(text)} mixes IPv${from.value.family} and IPv${to.value.family}`);
  }
  if (from.value.value > to.value.value) {
    return fail(
      `range ${JSON.stringify(text)} is reversed: ${formatIP(from.value)} comes after ${formatIP(to.value)}`,
    );
  }
  return ok({
    kind: 'range',
    text,
    family: from.value.family,
    first: from.value.value,
    last: to.value.value,
  });
}

/**
 * Parses one entry of `addresses` or `excludedAddresses`. The error quotes the entry, e.g.
 * `"10.0.0.01" is not a valid IP, range, nor CIDR: ParseAddr("10.0.0.01"): IPv4 field has octet with leading zero`.
 */
export function parseEntry(text: string): Result<AddressEntry> {
  let parsed: Result<AddressEntry>;
  if (text.includes('-')) parsed = parseRange(text);
  else if (text.includes('/')) parsed = parseCIDR(text);
  else {
    const ip = parseIP(text);
    parsed = ip.ok ? ok(entryOfIP(ip.value, text)) : ip;
  }
  if (parsed.ok) return parsed;
  return fail(`${JSON.stringify(text)} is not a valid IP, range, nor CIDR: ${parsed.error}`);
}

function entryOfIP(ip: IP, text: string): AddressEntry {
  return { kind: 'ip', text, family: ip.family, first: ip.value, last: ip.value };
}

/** Family of an entry, or undefined when the entry does not parse. */
export function entryFamily(text: string): IPFamily | undefined {
  const parsed = parseEntry(text);
  return parsed.ok ? parsed.value.family : undefined;
}

/**
 * The subnet inferred for a pool as the Go provider's webhook does: the address `lowest` with
 * `prefixLength` bits, failing like `netip.ParsePrefix` would when the length does not fit the
 * family (e.g. `/33` on IPv4).
 */
export function inferSubnet(lowest: IP, prefixLength: number): Result<Range & { readonly family: IPFamily }> {
  if (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > familyBits(lowest.family)) {
    return fail(
      `prefix length ${prefixLength} is out of range for IPv${lowest.family} address ${formatIP(lowest)}`,
    );
  }
  return ok({ family: lowest.family, ...subnetRange(lowest.family, lowest.value, prefixLength) });
}

/** Whether every address of `entry` lies inside `subnet` (same family required). */
export function entryWithinSubnet(
  entry: Pick<AddressEntry, 'family' | 'first' | 'last'>,
  subnet: Range & { readonly family: IPFamily },
): boolean {
  return entry.family === subnet.family && entry.first >= subnet.first && entry.last <= subnet.last;
}
