/**
 * The allocatable addresses of an IPv4 pool spec, computed here on purpose rather than with src/ip:
 * the soak checks the controller's pool status against it, so it must not share the controller's
 * arithmetic. It follows the Go provider's rule (union of addresses, minus excludedAddresses, minus
 * the first and last address of the subnet inferred from the lowest address and `prefix` unless
 * allocateReservedIPAddresses, minus the gateway) for the small IPv4 pools a soak uses: every
 * address is listed, so keep pools to a few thousand addresses.
 */

export interface IPv4PoolSpec {
  addresses: string[];
  prefix: number;
  gateway?: string;
  excludedAddresses?: string[];
  allocateReservedIPAddresses?: boolean;
}

const MAX_ADDRESSES = 1 << 16;

export function parseIPv4(text: string): number {
  const parts = text.split('.');
  const octets = parts.map(Number);
  if (parts.length !== 4 || octets.some((o, i) => !/^\d{1,3}$/.test(parts[i] ?? '') || o > 255))
    throw new Error(`not an IPv4 address: ${JSON.stringify(text)}`);
  return octets.reduce((n, o) => n * 256 + o, 0);
}

export function formatIPv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

/** An entry as pools write them: `a.b.c.d`, `first-last` or `network/length`. */
function entryRange(entry: string): [number, number] {
  const dash = entry.indexOf('-');
  if (dash >= 0) return [parseIPv4(entry.slice(0, dash).trim()), parseIPv4(entry.slice(dash + 1).trim())];
  const slash = entry.indexOf('/');
  if (slash < 0) {
    const ip = parseIPv4(entry.trim());
    return [ip, ip];
  }
  const length = Number(entry.slice(slash + 1));
  const size = 2 ** (32 - length);
  const first = Math.floor(parseIPv4(entry.slice(0, slash)) / size) * size;
  return [first, first + size - 1];
}

function expand(entries: readonly string[]): Set<number> {
  const out = new Set<number>();
  for (const entry of entries) {
    const [first, last] = entryRange(entry);
    if (last - first >= MAX_ADDRESSES) throw new Error(`${entry}: too large for the soak's checks`);
    for (let n = first; n <= last; n++) out.add(n);
  }
  return out;
}

/** The addresses a pool with this spec may hand out, as dotted quads. */
export function allocatableAddresses(spec: IPv4PoolSpec): Set<string> {
  const addresses = expand(spec.addresses);
  for (const n of expand(spec.excludedAddresses ?? [])) addresses.delete(n);
  const lowest = Math.min(...spec.addresses.map((entry) => entryRange(entry)[0]));
  if (spec.allocateReservedIPAddresses !== true && spec.prefix >= 0 && spec.prefix <= 32) {
    const size = 2 ** (32 - spec.prefix);
    const network = Math.floor(lowest / size) * size;
    addresses.delete(network);
    addresses.delete(network + size - 1);
  }
  if (spec.gateway) addresses.delete(parseIPv4(spec.gateway));
  return new Set([...addresses].map(formatIPv4));
}
