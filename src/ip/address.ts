/**
 * Single IP addresses: a family and a `bigint` value. Parsing follows Go's `netip.ParseAddr`
 * (the Go provider's parser) so that a pool accepted there is accepted here, with two deliberate
 * differences: zones (`fe80::1%eth0`) are rejected instead of silently dropped, and error
 * messages always quote the text that failed.
 */

/** 4 for IPv4, 6 for IPv6. IPv4-mapped IPv6 (`::ffff:1.2.3.4`) is IPv6, as in Go. */
export type IPFamily = 4 | 6;

/** An address: its family and its value as an unsigned integer of 32 or 128 bits. */
export interface IP {
  readonly family: IPFamily;
  readonly value: bigint;
}

/** The outcome of a parse: a value, or a message that names the offending text. */
export type Result<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: string };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const fail = <T>(error: string): Result<T> => ({ ok: false, error });

/** Number of bits of an address of the family. */
export function familyBits(family: IPFamily): 32 | 128 {
  return family === 4 ? 32 : 128;
}

/** Highest address value of the family (255.255.255.255 or ffff:…:ffff). */
export function familyMax(family: IPFamily): bigint {
  return family === 4 ? 0xffff_ffffn : (1n << 128n) - 1n;
}

/** Orders addresses as Go's netip does: every IPv4 address before every IPv6 address. */
export function compareIP(a: IP, b: IP): number {
  if (a.family !== b.family) return a.family - b.family;
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}

function addrError(input: string, message: string, at?: string): string {
  const suffix = at === undefined || at === '' ? '' : ` (at ${JSON.stringify(at)})`;
  return `ParseAddr(${JSON.stringify(input)}): ${message}${suffix}`;
}

/**
 * Parses one address. Errors read like Go's (`ParseAddr("x"): unable to parse IP`), which is what
 * the Go provider's webhook returns for a bad gateway.
 */
export function parseIP(text: string): Result<IP> {
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '.') return parseIPv4(text);
    if (c === ':') return parseIPv6(text);
    if (c === '%') return fail(addrError(text, 'missing IPv6 address'));
  }
  return fail(addrError(text, 'unable to parse IP'));
}

/** Parses dotted-quad text between `start` and `end`; returns the value or an error message. */
function parseIPv4Fields(input: string, start: number, end: number): number | string {
  let value = 0;
  let field = 0;
  let fieldIndex = 0;
  let digits = 0;
  for (let i = start; i < end; i++) {
    const code = input.charCodeAt(i);
    if (code >= 48 && code <= 57) {
      // Go rejects "010": some libraries read it as octal, so its meaning is ambiguous.
      if (digits === 1 && field === 0) return addrError(input, 'IPv4 field has octet with leading zero');
      field = field * 10 + (code - 48);
      digits++;
      if (field > 255) return addrError(input, 'IPv4 field has value >255');
    } else if (code === 46) {
      if (i === start || i === end - 1 || input.charCodeAt(i - 1) === 46) {
        return addrError(input, 'IPv4 field must have at least one digit', input.slice(i, end));
      }
      if (fieldIndex === 3) return addrError(input, 'IPv4 address too long');
      value = value * 256 + field;
      fieldIndex++;
      field = 0;
      digits = 0;
    } else {
      return addrError(input, 'unexpected character', input.slice(i, end));
    }
  }
  if (fieldIndex < 3) return addrError(input, 'IPv4 address too short');
  return value * 256 + field;
}

function parseIPv4(text: string): Result<IP> {
  const parsed = parseIPv4Fields(text, 0, text.length);
  if (typeof parsed === 'string') return fail(parsed);
  return ok({ family: 4, value: BigInt(parsed) });
}

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 102) return code - 87;
  if (code >= 65 && code <= 70) return code - 55;
  return -1;
}

function parseIPv6(input: string): Result<IP> {
  const end = input.length;
  const zoneAt = input.indexOf('%');
  if (zoneAt !== -1) {
    if (zoneAt === input.length - 1) return fail(addrError(input, 'zone must be a non-empty string'));
    // Go drops the zone; an interface name has no meaning in a cluster-wide pool, so we refuse it.
    return fail(addrError(input, 'IPv6 zones are not supported'));
  }
  const groups = new Array<number>(8).fill(0);
  let count = 0; // 16-bit groups parsed so far
  let ellipsis = -1; // group index where "::" stands
  let pos = 0;
  if (end >= 2 && input[0] === ':' && input[1] === ':') {
    ellipsis = 0;
    pos = 2;
    if (pos === end) return ok({ family: 6, value: 0n });
  }
  while (count < 8) {
    let digits = 0;
    let group = 0;
    while (pos + digits < end) {
      const h = hexValue(input.charCodeAt(pos + digits));
      if (h < 0) break;
      if (digits === 4)
        return fail(addrError(input, 'each group must have 4 or less digits', input.slice(pos, end)));
      group = group * 16 + h;
      digits++;
    }
    if (digits === 0) {
      return fail(
        addrError(input, 'each colon-separated field must have at least one digit', input.slice(pos, end)),
      );
    }
    if (pos + digits < end && input[pos + digits] === '.') {
      if (ellipsis < 0 && count !== 6) {
        return fail(
          addrError(
            input,
            'embedded IPv4 address must replace the final 2 fields of the address',
            input.slice(pos, end),
          ),
        );
      }
      if (count + 2 > 8) {
        return fail(
          addrError(
            input,
            'too many hex fields to fit an embedded IPv4 at the end of the address',
            input.slice(pos, end),
          ),
        );
      }
      const v4 = parseIPv4Fields(input, pos, end);
      if (typeof v4 === 'string') return fail(v4);
      groups[count++] = Math.floor(v4 / 65536);
      groups[count++] = v4 % 65536;
      pos = end;
      break;
    }
    groups[count++] = group;
    pos += digits;
    if (pos === end) break;
    if (input[pos] !== ':')
      return fail(addrError(input, 'unexpected character, want colon', input.slice(pos, end)));
    if (pos === end - 1)
      return fail(addrError(input, 'colon must be followed by more characters', input.slice(pos, end)));
    pos++;
    if (input[pos] === ':') {
      if (ellipsis >= 0) return fail(addrError(input, 'multiple :: in address', input.slice(pos, end)));
      ellipsis = count;
      pos++;
      if (pos === end) break;
    }
  }
  if (pos !== end) return fail(addrError(input, 'trailing garbage after address', input.slice(pos, end)));
  if (count < 8) {
    if (ellipsis < 0) return fail(addrError(input, 'address string too short'));
    const shift = 8 - count;
    for (let j = count - 1; j >= ellipsis; j--) groups[j + shift] = groups[j] ?? 0;
    for (let j = ellipsis; j < ellipsis + shift; j++) groups[j] = 0;
  } else if (ellipsis >= 0) {
    return fail(addrError(input, 'the :: must expand to at least one field of zeros'));
  }
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(g);
  return ok({ family: 6, value });
}

function formatIPv4(value: number): string {
  return `${(value >>> 24) & 255}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

/**
 * Formats an address the way Go's `netip.Addr.String` does (RFC 5952 for IPv6, `::ffff:a.b.c.d`
 * for IPv4-mapped), so that the strings we write match the ones the Go provider wrote.
 */
export function formatIP(ip: IP): string {
  if (ip.family === 4) return formatIPv4(Number(ip.value));
  const value = ip.value;
  if (value >> 32n === 0xffffn) return `::ffff:${formatIPv4(Number(value & 0xffff_ffffn))}`;
  // Four 32-bit words, then number arithmetic: bigint work per group would dominate the cost.
  const words = [
    Number(value >> 96n),
    Number((value >> 64n) & 0xffff_ffffn),
    Number((value >> 32n) & 0xffff_ffffn),
    Number(value & 0xffff_ffffn),
  ];
  const groups: number[] = [];
  for (const word of words) groups.push(word >>> 16, word & 0xffff);
  let bestStart = -1;
  let bestLength = 1; // a single zero group is never compressed
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  let text = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      text += '::';
      i += bestLength - 1;
      continue;
    }
    if (text !== '' && !text.endsWith(':')) text += ':';
    text += groups[i]!.toString(16);
  }
  return text;
}

/** Parses and re-formats, or returns undefined for text that is not an address. */
export function canonicalIP(text: string): string | undefined {
  const parsed = parseIP(text);
  return parsed.ok ? formatIP(parsed.value) : undefined;
}
