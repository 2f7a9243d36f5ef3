import { describe, expect, it } from 'vitest';
import { parseIP } from './address.js';
import {
  type AddressEntry,
  entryFamily,
  entryWithinSubnet,
  inferSubnet,
  parseCIDR,
  parseEntry,
  subnetRange,
} from './entry.js';

function entry(text: string): AddressEntry {
  const result = parseEntry(text);
  if (!result.ok) throw new Error(result.error);
  return result.value;
}

function errorOf(text: string): string {
  const result = parseEntry(text);
  if (result.ok) throw new Error(`${text} parsed`);
  return result.error;
}

describe('parseEntry', () => {
  it('reads a single IP as a range of one', () => {
    expect(entry('10.0.0.7')).toMatchObject({ kind: 'ip', family: 4, first: 0x0a000007n, last: 0x0a000007n });
  });

  it('reads an a-b range with both ends included', () => {
    expect(entry('10.0.0.1-10.0.0.9')).toMatchObject({
      kind: 'range',
      first: 0x0a000001n,
      last: 0x0a000009n,
    });
    expect(entry('fd00::1-fd00::1')).toMatchObject({
      kind: 'range',
      family: 6,
      first: (0xfd00n << 112n) + 1n,
    });
  });

  it('reads a CIDR as its whole subnet, host bits cleared, as Go does for pool addresses', () => {
    expect(entry('10.0.0.5/24')).toMatchObject({
      kind: 'cidr',
      first: 0x0a000000n,
      last: 0x0a0000ffn,
      hostBitsSet: true,
      prefixLength: 24,
    });
    expect(entry('10.0.0.0/24')).toMatchObject({ hostBitsSet: false });
    expect(entry('0.0.0.0/0')).toMatchObject({ first: 0n, last: 0xffffffffn });
    expect(entry('fd00::/64')).toMatchObject({ family: 6, last: (0xfd00n << 112n) + (1n << 64n) - 1n });
    expect(entry('10.0.0.1/32')).toMatchObject({ first: 0x0a000001n, last: 0x0a000001n });
  });

  it('rejects a reversed range and says which end is wrong', () => {
    expect(errorOf('10.0.0.9-10.0.0.1')).toBe(
      '"10.0.0.9-10.0.0.1" is not a valid IP, range, nor CIDR: range "10.0.0.9-10.0.0.1" is reversed: 10.0.0.9 comes after 10.0.0.1',
    );
  });

  it('rejects a range that mixes families', () => {
    expect(errorOf('10.0.0.1-::1')).toContain('mixes IPv4 and IPv6');
    expect(errorOf('::ffff:10.0.0.1-10.0.0.2')).toContain('mixes IPv6 and IPv4');
  });

  it.each([
    ['10.0.0.01', 'leading zero'],
    ['10.0.0.1-10.0.0.02', 'invalid To IP "10.0.0.02"'],
    ['10.0.0.1--10.0.0.2', 'invalid To IP'],
    ['-10.0.0.2', 'invalid From IP ""'],
    ['10.0.0.0/33', 'prefix length out of range'],
    ['fd00::/129', 'prefix length out of range'],
    ['10.0.0.0/024', 'bad bits after slash: "024"'],
    ['10.0.0.0/+4', 'bad bits after slash'],
    ['10.0.0.0/', 'bad bits after slash: ""'],
    ['fe80::%eth0/64', 'zones are not supported'],
    ['fe80::1%eth0', 'zones are not supported'],
    ['10.0.0.1-10.0.0.5/24', 'invalid To IP'],
    ['10.0.0.0/24/8', 'netip.ParsePrefix'],
    ['', 'unable to parse IP'],
  ])('rejects %j, naming the entry (%s)', (text, detail) => {
    const error = errorOf(text);
    expect(error.startsWith(`${JSON.stringify(text)} is not a valid IP, range, nor CIDR: `)).toBe(true);
    expect(error).toContain(detail);
  });
});

describe('parseCIDR', () => {
  it('keeps the address as written so prefix pools can refuse host bits', () => {
    const result = parseCIDR('fd00::1/64');
    expect(result.ok && result.value.hostBitsSet).toBe(true);
    expect(result.ok && result.value.address).toBe((0xfd00n << 112n) + 1n);
  });
});

describe('validation helpers', () => {
  it('gives the family of an entry, IPv4-mapped counting as IPv6', () => {
    expect(entryFamily('10.0.0.0/8')).toBe(4);
    expect(entryFamily('fd00::1-fd00::9')).toBe(6);
    expect(entryFamily('::ffff:10.0.0.1')).toBe(6);
    expect(entryFamily('nope')).toBeUndefined();
  });

  it('infers the subnet of the lowest address and prefix, or fails when the prefix does not fit', () => {
    const lowest = parseIP('10.0.1.7');
    if (!lowest.ok) throw new Error(lowest.error);
    expect(inferSubnet(lowest.value, 16)).toEqual({
      ok: true,
      value: { family: 4, first: 0x0a000000n, last: 0x0a00ffffn },
    });
    expect(inferSubnet(lowest.value, 33).ok).toBe(false);
    expect(inferSubnet(lowest.value, -1).ok).toBe(false);
    expect(inferSubnet(lowest.value, 0)).toMatchObject({ ok: true, value: { first: 0n, last: 0xffffffffn } });
  });

  it('tells whether an entry lies inside a subnet', () => {
    const subnet = { family: 4 as const, ...subnetRange(4, 0x0a000000n, 24) };
    expect(entryWithinSubnet(entry('10.0.0.10-10.0.0.20'), subnet)).toBe(true);
    expect(entryWithinSubnet(entry('10.0.0.0/24'), subnet)).toBe(true);
    expect(entryWithinSubnet(entry('10.0.0.0/23'), subnet)).toBe(false);
    expect(entryWithinSubnet(entry('10.0.0.250-10.0.1.2'), subnet)).toBe(false);
    expect(entryWithinSubnet(entry('::ffff:10.0.0.1'), subnet)).toBe(false);
  });
});
