import { describe, expect, it } from 'vitest';
import { MAX_INT64, type PoolSpecInput, stringifyWithInt64 } from '../ip/index.js';
import { PoolAllocator } from './allocator.js';

function pool(spec: PoolSpecInput): PoolAllocator {
  const created = PoolAllocator.fromSpec(spec);
  if (!created.ok) throw new Error(created.error);
  return created.value;
}

function drain(allocator: PoolAllocator): string[] {
  const out: string[] = [];
  for (let address = allocator.reserveNext(); address !== undefined; address = allocator.reserveNext()) {
    out.push(address);
  }
  return out;
}

describe('PoolAllocator.reserveNext (strategy lowest)', () => {
  it('hands out the lowest free address, skipping network, gateway and broadcast', () => {
    const allocator = pool({ addresses: ['10.0.0.0/29'], prefix: 29, gateway: '10.0.0.1' });
    expect(drain(allocator)).toEqual(['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6']);
    expect(allocator.reserveNext()).toBeUndefined();
  });

  it('walks the merged ranges in address order, whatever the order of the entries', () => {
    const allocator = pool({ addresses: ['10.0.0.20', '10.0.0.10-10.0.0.11', '10.0.0.12'], prefix: 24 });
    expect(drain(allocator)).toEqual(['10.0.0.10', '10.0.0.11', '10.0.0.12', '10.0.0.20']);
  });

  it('skips excluded addresses as the Go provider does (.6, .8, .9)', () => {
    const allocator = pool({
      addresses: ['10.0.0.1-10.0.0.9'],
      prefix: 24,
      gateway: '10.0.0.1',
      excludedAddresses: ['10.0.0.2-10.0.0.5', '10.0.0.7'],
    });
    expect(drain(allocator)).toEqual(['10.0.0.6', '10.0.0.8', '10.0.0.9']);
  });

  it('reuses the lowest freed address first', () => {
    const allocator = pool({ addresses: ['10.0.0.10-10.0.0.20'], prefix: 24 });
    drain(allocator);
    expect(allocator.release('10.0.0.15')).toBe(true);
    expect(allocator.release('10.0.0.12')).toBe(true);
    expect(allocator.reserveNext()).toBe('10.0.0.12');
    expect(allocator.reserveNext()).toBe('10.0.0.15');
    expect(allocator.reserveNext()).toBeUndefined();
  });

  it('allocates from an IPv6 pool, skipping the anycast address and formatting like Go', () => {
    const allocator = pool({ addresses: ['fd00::/64'], prefix: 64, gateway: 'fd00::1' });
    expect([allocator.reserveNext(), allocator.reserveNext()]).toEqual(['fd00::2', 'fd00::3']);
    expect(allocator.total).toBe((1n << 64n) - 2n);
  });

  it('allocates from the whole IPv6 space and returns the last address at the end', () => {
    const allocator = pool({ addresses: ['::/0'], prefix: 0 });
    expect(allocator.reserveNext()).toBe('::1');
    expect(allocator.reserve('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')).toBe('reserved');
    expect(allocator.isReserved('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')).toBe(true);
    expect(allocator.used).toBe(2n);
  });

  it('has nothing to hand out from an IPv4 /32 pool unless reserved addresses are allowed', () => {
    expect(pool({ addresses: ['10.0.0.7/32'], prefix: 32 }).reserveNext()).toBeUndefined();
    expect(
      pool({ addresses: ['10.0.0.7/32'], prefix: 32, allocateReservedIPAddresses: true }).reserveNext(),
    ).toBe('10.0.0.7');
  });

  it('returns a structured address from reserveNextIP', () => {
    expect(pool({ addresses: ['10.0.0.5'], prefix: 24 }).reserveNextIP()).toEqual({
      family: 4,
      value: 0x0a000005n,
    });
  });
});

describe('PoolAllocator.reserve and release', () => {
  it('says what happened to each specific reservation', () => {
    const allocator = pool({ addresses: ['10.0.0.0/24'], prefix: 24, gateway: '10.0.0.1' });
    expect(allocator.reserve('10.0.0.7')).toBe('reserved');
    expect(allocator.reserve('10.0.0.7')).toBe('already-reserved');
    expect(allocator.reserve('10.0.0.1')).toBe('out-of-range');
    expect(allocator.reserve('10.0.1.1')).toBe('out-of-range');
    expect(allocator.reserve('fd00::1')).toBe('out-of-range');
    expect(allocator.reserve('10.0.1.1')).toBe('already-reserved');
    expect(allocator.reserve('10.0.0.07')).toBe('invalid');
    expect(allocator.counts()).toEqual({ total: 253n, used: 4n, free: 252n, outOfRange: 3n });
  });

  it('lets the strategy skip an address reserved specifically', () => {
    const allocator = pool({ addresses: ['10.0.0.1-10.0.0.3'], prefix: 24 });
    allocator.reserve('10.0.0.1');
    expect(allocator.reserveNext()).toBe('10.0.0.2');
  });

  it('releases in-range and out-of-range reservations, once', () => {
    const allocator = pool({ addresses: ['10.0.0.0/24'], prefix: 24 });
    allocator.reserve('10.0.0.9');
    allocator.reserve('192.168.0.1');
    expect(allocator.release('10.0.0.9')).toBe(true);
    expect(allocator.release('10.0.0.9')).toBe(false);
    expect(allocator.release('192.168.0.1')).toBe(true);
    expect(allocator.release('192.168.0.1')).toBe(false);
    expect(allocator.release('not an address')).toBe(false);
    expect(allocator.counts()).toEqual({ total: 254n, used: 0n, free: 254n, outOfRange: 0n });
  });

  it('tells reserved addresses from allocatable ones', () => {
    const allocator = pool({ addresses: ['10.0.0.0/24'], prefix: 24 });
    allocator.reserve('10.0.0.9');
    expect(allocator.isReserved('10.0.0.9')).toBe(true);
    expect(allocator.isReserved('10.0.0.10')).toBe(false);
    expect(allocator.isAllocatable('10.0.0.10')).toBe(true);
    expect(allocator.isAllocatable('10.0.0.0')).toBe(false);
    expect(allocator.isAllocatable('x')).toBe(false);
  });
});

describe('PoolAllocator counts', () => {
  it('are exact bigints for an IPv6 /64 and serialise capped and exact', () => {
    const allocator = pool({ addresses: ['fd00::/48'], prefix: 48 });
    allocator.reserveNext();
    const counts = allocator.counts();
    expect(counts.total).toBe((1n << 80n) - 1n);
    expect(counts.free).toBe((1n << 80n) - 2n);
    expect(stringifyWithInt64(counts)).toBe(
      `{"total":${MAX_INT64},"used":1,"free":${MAX_INT64},"outOfRange":0}`,
    );
  });
});

describe('PoolAllocator.rebuild', () => {
  it('reserves every listed address and reports out-of-range, duplicate and invalid ones', () => {
    const allocator = pool({ addresses: ['10.0.0.0/24'], prefix: 24, gateway: '10.0.0.1' });
    allocator.reserve('10.0.0.100');
    const report = allocator.rebuild([
      '10.0.0.5',
      '10.0.0.2',
      '10.0.0.5',
      '10.0.9.9',
      'bogus',
      '10.0.0.1',
      '10.0.9.9',
    ]);
    expect(report).toEqual({
      reserved: 2,
      outOfRange: ['10.0.9.9', '10.0.0.1'],
      duplicates: ['10.0.0.5', '10.0.9.9'],
      invalid: [{ address: 'bogus', error: 'ParseAddr("bogus"): unable to parse IP' }],
    });
    expect(allocator.isReserved('10.0.0.100')).toBe(false);
    expect([...allocator.reservedAddresses()]).toEqual(['10.0.0.2', '10.0.0.5', '10.0.0.1', '10.0.9.9']);
    expect(allocator.reserveNext()).toBe('10.0.0.3');
    expect(allocator.counts()).toEqual({ total: 253n, used: 5n, free: 250n, outOfRange: 2n });
  });

  it('starts the lowest search over, so freed low addresses are found again', () => {
    const allocator = pool({ addresses: ['10.0.0.1-10.0.0.5'], prefix: 24 });
    drain(allocator);
    allocator.rebuild(['10.0.0.1', '10.0.0.3']);
    expect(drain(allocator)).toEqual(['10.0.0.2', '10.0.0.4', '10.0.0.5']);
  });
});

describe('PoolAllocator.reshape', () => {
  it('keeps reservations when the pool shrinks and counts the ones left outside as out of range', () => {
    const allocator = pool({ addresses: ['10.0.0.10-10.0.0.20'], prefix: 24 });
    drain(allocator);
    const report = allocator.reshape({
      addresses: ['10.0.0.10-10.0.0.15'],
      prefix: 24,
      gateway: '10.0.0.10',
    });
    expect(report).toEqual({
      ok: true,
      value: {
        inRange: 5,
        outOfRange: ['10.0.0.10', '10.0.0.16', '10.0.0.17', '10.0.0.18', '10.0.0.19', '10.0.0.20'],
      },
    });
    expect(allocator.counts()).toEqual({ total: 5n, used: 11n, free: 0n, outOfRange: 6n });
    expect(allocator.reserveNext()).toBeUndefined();
    expect(allocator.release('10.0.0.18')).toBe(true);
    expect(allocator.outOfRange).toBe(5n);
  });

  it('brings out-of-range reservations back in range when the pool grows again', () => {
    const allocator = pool({ addresses: ['10.0.0.10-10.0.0.12'], prefix: 24 });
    allocator.reserve('10.0.0.30');
    expect(allocator.outOfRange).toBe(1n);
    allocator.reshape({ addresses: ['10.0.0.0/24'], prefix: 24 });
    expect(allocator.counts()).toEqual({ total: 254n, used: 1n, free: 253n, outOfRange: 0n });
    expect(allocator.reserveNext()).toBe('10.0.0.1');
  });

  it('treats every reservation as out of range when the family changes', () => {
    const allocator = pool({ addresses: ['10.0.0.0/30'], prefix: 30 });
    drain(allocator);
    const report = allocator.reshape({ addresses: ['fd00::/126'], prefix: 126 });
    expect(report.ok && report.value.outOfRange).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(allocator.family).toBe(6);
    expect(allocator.reserveNext()).toBe('fd00::1');
  });

  it('refuses a spec that has no allocatable set and changes nothing', () => {
    const allocator = pool({ addresses: ['10.0.0.0/30'], prefix: 30 });
    allocator.reserveNext();
    expect(allocator.reshape({ addresses: ['10.0.0.1', 'fd00::1'], prefix: 24 })).toEqual({
      ok: false,
      error: 'provided addresses are of mixed IP families',
    });
    expect(allocator.counts()).toEqual({ total: 2n, used: 1n, free: 1n, outOfRange: 0n });
  });
});

describe('PoolAllocator.fromSpec', () => {
  it('fails with the reason for a pool the webhook would refuse', () => {
    expect(PoolAllocator.fromSpec({ addresses: ['10.0.0.1-10.0.0.0'], prefix: 24 }).ok).toBe(false);
  });

  it('uses the Lowest strategy by default', () => {
    expect(pool({ addresses: ['10.0.0.1'], prefix: 24 }).strategy).toBe('Lowest');
  });
});
