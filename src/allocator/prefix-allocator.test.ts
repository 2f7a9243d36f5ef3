import { describe, expect, it } from 'vitest';
import { PrefixAllocator } from './prefix-allocator.js';

function allocator(prefixes: string[], allocationPrefixLength = 64, excludedPrefixes?: string[]) {
  const result = PrefixAllocator.fromSpec({ prefixes, allocationPrefixLength, excludedPrefixes });
  if (!result.ok) throw new Error(result.error);
  return result.value;
}

describe('the prefix allocator', () => {
  it('hands out /64s lowest address first: fd00::/64, fd00:0:0:1::/64', () => {
    const a = allocator(['fd00::/48']);
    expect([a.reserveNext(), a.reserveNext()]).toEqual(['fd00::/64', 'fd00:0:0:1::/64']);
    expect(a.used).toBe(2n);
    expect(a.total).toBe(65536n);
  });

  it('hands out /56s: fd06::/56, fd06:0:0:100::/56', () => {
    const a = allocator(['fd06::/48'], 56);
    expect([a.reserveNext(), a.reserveNext()]).toEqual(['fd06::/56', 'fd06:0:0:100::/56']);
  });

  it('takes the lowest prefix first whatever the order of the list, skipping excluded ones', () => {
    const a = allocator(['fd01::/64', 'fd00::/63'], 64, ['fd00::1']);
    expect([a.reserveNext(), a.reserveNext(), a.reserveNext()]).toEqual([
      'fd00:0:0:1::/64',
      'fd01::/64',
      undefined,
    ]);
  });

  it('is exhausted by one claim on a single /64, and hands it out again once released', () => {
    const a = allocator(['fd00:1::/64']);
    expect(a.total).toBe(1n);
    expect(a.reserveNext()).toBe('fd00:1::/64');
    expect(a.reserveNext()).toBeUndefined();
    a.release('fd00:1::/64');
    expect(a.used).toBe(0n);
    expect(a.reserveNext()).toBe('fd00:1::/64');
  });

  it('reserves given prefixes, answering taken for a second holder and outside for non-candidates', () => {
    const a = allocator(['fd00::/62'], 64, ['fd00:0:0:3::/64']);
    expect(a.reserve('fd00::/64')).toBe('reserved');
    expect(a.reserve('fd00::/64')).toBe('taken');
    expect(a.reserve('fd00:0:0:3::/64')).toBe('outside');
    expect(a.reserve('fd00:0:0:3::/64')).toBe('taken');
    expect(a.reserve('garbage')).toBe('outside');
    expect(a.used).toBe(1n);
    expect(a.reserveNext()).toBe('fd00:0:0:1::/64');
  });

  it('never hands out a child that an out-of-range prefix of another length overlaps', () => {
    const a = allocator(['fd00::/60']);
    expect(a.reserve('fd00::/62')).toBe('outside');
    expect(a.reserve('fd00:0:0:5::9/128')).toBe('outside');
    expect(a.reserveNext()).toBe('fd00:0:0:4::/64');
    expect(a.reserveNext()).toBe('fd00:0:0:6::/64');
    expect(a.used).toBe(2n);
    a.release('fd00::/62');
    expect(a.reserveNext()).toBe('fd00::/64');
    a.release('fd00:0:0:5::9/128');
    expect([a.reserveNext(), a.reserveNext(), a.reserveNext()]).toEqual([
      'fd00:0:0:1::/64',
      'fd00:0:0:2::/64',
      'fd00:0:0:3::/64',
    ]);
    expect(a.reserveNext()).toBe('fd00:0:0:5::/64');
  });

  it('turns a shadowed child into a real reservation when an IPAddress holds it', () => {
    const a = allocator(['fd00::/63']);
    a.reserve('fd00::/63');
    expect(a.reserveNext()).toBeUndefined();
    expect(a.reserve('fd00::/64')).toBe('reserved');
    expect(a.used).toBe(1n);
    a.release('fd00::/63');
    expect(a.isReserved('fd00::/64')).toBe(true);
    expect(a.reserveNext()).toBe('fd00:0:0:1::/64');
  });

  it('hands out /128s of a huge space without walking it', () => {
    const a = allocator(['::/0'], 128);
    expect(a.total).toBe(2n ** 128n);
    expect([a.reserveNext(), a.reserveNext()]).toEqual(['::/128', '::1/128']);
  });

  it('fails for a spec without candidates', () => {
    expect(PrefixAllocator.fromSpec({ prefixes: ['10.0.0.0/8'], allocationPrefixLength: 64 }).ok).toBe(false);
  });
});
