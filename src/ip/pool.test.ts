import { describe, expect, it } from 'vitest';
import { formatIP } from './address.js';
import { formatRanges, lowestAddress, type PoolSpecInput, poolAllocatableSet } from './pool.js';

function ranges(spec: PoolSpecInput): string[] {
  const result = poolAllocatableSet(spec);
  if (!result.ok) throw new Error(result.error);
  return formatRanges(result.value.family, result.value.addresses);
}

function total(spec: PoolSpecInput): bigint {
  const result = poolAllocatableSet(spec);
  if (!result.ok) throw new Error(result.error);
  return result.value.addresses.size;
}

describe('poolAllocatableSet', () => {
  it('removes the IPv4 network and broadcast addresses and the gateway', () => {
    expect(ranges({ addresses: ['192.168.0.0/24'], prefix: 24, gateway: '192.168.0.1' })).toEqual([
      '192.168.0.2-192.168.0.254',
    ]);
  });

  it('counts like the Go provider tests: a range without a gateway', () => {
    expect(total({ addresses: ['10.0.0.10-10.0.0.20'], prefix: 24 })).toBe(11n);
    expect(total({ addresses: ['10.0.0.10-10.0.0.20'], prefix: 24, gateway: '10.0.0.10' })).toBe(10n);
    expect(total({ addresses: ['10.0.0.0-10.0.0.1'], prefix: 24, gateway: '10.0.0.2' })).toBe(1n);
    expect(total({ addresses: ['fe80::ffff'], prefix: 120 })).toBe(1n);
  });

  it('infers the subnet from the lowest address, not the first entry', () => {
    expect(ranges({ addresses: ['10.0.1.0-10.0.1.255', '10.0.0.255'], prefix: 23 })).toEqual([
      '10.0.0.255-10.0.1.254',
    ]);
  });

  it('keeps reserved addresses when allocateReservedIPAddresses is set, but never the gateway', () => {
    expect(
      ranges({
        addresses: ['10.0.0.0/30'],
        prefix: 30,
        gateway: '10.0.0.1',
        allocateReservedIPAddresses: true,
      }),
    ).toEqual(['10.0.0.0', '10.0.0.2-10.0.0.3']);
  });

  it('removes the IPv6 subnet-router anycast address but keeps the last address', () => {
    expect(ranges({ addresses: ['fd01::/120'], prefix: 120, gateway: 'fd01::1' })).toEqual([
      'fd01::2-fd01::ff',
    ]);
    expect(ranges({ addresses: ['fd01::/120'], prefix: 120, allocateReservedIPAddresses: true })).toEqual([
      'fd01::-fd01::ff',
    ]);
  });

  it('leaves nothing in an IPv4 /31 or /32, as Go does, unless reserved addresses are allocatable', () => {
    expect(total({ addresses: ['10.0.0.0/31'], prefix: 31 })).toBe(0n);
    expect(total({ addresses: ['10.0.0.7'], prefix: 32 })).toBe(0n);
    expect(ranges({ addresses: ['10.0.0.0/31'], prefix: 31, allocateReservedIPAddresses: true })).toEqual([
      '10.0.0.0-10.0.0.1',
    ]);
    expect(ranges({ addresses: ['10.0.0.7'], prefix: 32, allocateReservedIPAddresses: true })).toEqual([
      '10.0.0.7',
    ]);
  });

  it('loses the first address of an IPv6 /127 and the only one of a /128', () => {
    expect(ranges({ addresses: ['fd00::/127'], prefix: 127 })).toEqual(['fd00::1']);
    expect(total({ addresses: ['fd00::5'], prefix: 128 })).toBe(0n);
  });

  it('reserves only addresses that lie in the pool, so a range in the middle of a subnet is whole', () => {
    expect(ranges({ addresses: ['10.0.0.10-10.0.0.20'], prefix: 24 })).toEqual(['10.0.0.10-10.0.0.20']);
  });

  it('with prefix 0 reserves 0.0.0.0 and 255.255.255.255 only', () => {
    expect(total({ addresses: ['192.168.0.1-192.168.0.9'], prefix: 0, gateway: '192.168.0.1' })).toBe(8n);
    expect(ranges({ addresses: ['0.0.0.0-0.0.0.2', '255.255.255.255'], prefix: 0 })).toEqual([
      '0.0.0.1-0.0.0.2',
    ]);
    expect(ranges({ addresses: ['::-::2'], prefix: 0 })).toEqual(['::1-::2']);
  });

  it('reserves nothing when the prefix does not fit the family, as Go (its webhook rejects such pools)', () => {
    expect(ranges({ addresses: ['10.0.0.0/30'], prefix: 33 })).toEqual(['10.0.0.0-10.0.0.3']);
    expect(ranges({ addresses: ['10.0.0.0/30'], prefix: -1 })).toEqual(['10.0.0.0-10.0.0.3']);
  });

  it('ignores a gateway outside the ranges and one of the other family', () => {
    expect(ranges({ addresses: ['10.0.0.10-10.0.0.12'], prefix: 24, gateway: '10.0.0.1' })).toEqual([
      '10.0.0.10-10.0.0.12',
    ]);
    expect(ranges({ addresses: ['10.0.0.10-10.0.0.12'], prefix: 24, gateway: 'fd00::a' })).toEqual([
      '10.0.0.10-10.0.0.12',
    ]);
  });

  it('removes excluded IPs, ranges and CIDRs, and ignores excluded entries outside the pool', () => {
    expect(
      ranges({
        addresses: ['192.168.0.0/24'],
        prefix: 24,
        gateway: '192.168.0.1',
        excludedAddresses: [
          '192.168.0.128/25',
          '192.168.0.5',
          '192.168.0.10-192.168.0.20',
          '10.0.0.0/8',
          'fd00::1',
        ],
      }),
    ).toEqual(['192.168.0.2-192.168.0.4', '192.168.0.6-192.168.0.9', '192.168.0.21-192.168.0.127']);
  });

  it('infers the subnet before exclusions are applied', () => {
    expect(ranges({ addresses: ['10.0.0.0-10.0.0.5'], prefix: 29, excludedAddresses: ['10.0.0.0'] })).toEqual(
      ['10.0.0.1-10.0.0.5'],
    );
  });

  it('merges overlapping and out-of-order entries', () => {
    expect(
      ranges({
        addresses: ['10.0.0.20-10.0.0.30', '10.0.0.5', '10.0.0.25-10.0.0.40', '10.0.0.6'],
        prefix: 24,
      }),
    ).toEqual(['10.0.0.5-10.0.0.6', '10.0.0.20-10.0.0.40']);
  });

  it('counts a huge IPv6 pool exactly', () => {
    expect(total({ addresses: ['fd00::/64'], prefix: 64 })).toBe((1n << 64n) - 1n);
    expect(total({ addresses: ['::/0'], prefix: 0 })).toBe((1n << 128n) - 1n);
  });

  it('refuses pools the webhook refuses, with a message naming the entry', () => {
    expect(poolAllocatableSet({ addresses: [], prefix: 24 })).toEqual({
      ok: false,
      error: 'addresses is required',
    });
    expect(poolAllocatableSet({ addresses: ['10.0.0.1', 'fd00::1'], prefix: 24 })).toEqual({
      ok: false,
      error: 'provided addresses are of mixed IP families',
    });
    const bad = poolAllocatableSet({ addresses: ['10.0.0.1', '10.0.0.300'], prefix: 24 });
    expect(bad.ok ? '' : bad.error).toContain('"10.0.0.300" is not a valid IP, range, nor CIDR');
    const badExcluded = poolAllocatableSet({ addresses: ['10.0.0.1'], prefix: 24, excludedAddresses: ['x'] });
    expect(badExcluded.ok ? '' : badExcluded.error).toContain('"x" is not a valid IP');
    const badGateway = poolAllocatableSet({ addresses: ['10.0.0.1'], prefix: 24, gateway: 'x' });
    expect(badGateway.ok ? '' : badGateway.error).toContain('ParseAddr("x"): unable to parse IP');
  });

  it('survives nulls in a spec that bypassed validation', () => {
    const spec = {
      addresses: null,
      prefix: 24,
      gateway: null,
      excludedAddresses: null,
    } as unknown as PoolSpecInput;
    expect(poolAllocatableSet(spec)).toEqual({ ok: false, error: 'addresses is required' });
    const withNulls = { addresses: ['10.0.0.0/30'], prefix: 30, gateway: null, excludedAddresses: null };
    expect(ranges(withNulls as unknown as PoolSpecInput)).toEqual(['10.0.0.1-10.0.0.2']);
  });
});

describe('lowestAddress', () => {
  it('finds the lowest address across entries, IPv4 before IPv6', () => {
    const low = lowestAddress(['10.0.0.9', '10.0.0.0/30', 'fd00::1']);
    expect(low.ok && low.value && formatIP(low.value)).toBe('10.0.0.0');
    expect(lowestAddress([])).toEqual({ ok: true, value: undefined });
  });
});
