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

  it('hands out the child after a /64 held by hand in a /48 of /128s at once, not walking 2^64 children', () => {
    // The reported wedge: an IPAddress fd00::1 with prefix 64 in a pool of /128s, and one claim.
    const a = allocator(['fd00::/48'], 128);
    expect(a.reserve('fd00::/64')).toBe('outside');
    expect(a.reserveNext()).toBe('fd00:0:0:1::/128');
    expect(a.reserveNext()).toBe('fd00:0:0:1::1/128');
    expect(a.used).toBe(2n);
    expect(a.total).toBe(2n ** 80n);
    expect(a.isReserved('fd00::5/128')).toBe(false);
    a.release('fd00::/64');
    expect(a.reserveNext()).toBe('fd00::/128');
    expect(a.used).toBe(3n);
  });

  it('jumps over a thousand adjacent /64s held by hand, and over ::/1 in a pool of all /128s', () => {
    const a = allocator(['fd00::/48'], 128);
    for (let i = 0; i < 1000; i++) a.reserve(`fd00:0:0:${i.toString(16)}::/64`);
    expect(a.reserveNext()).toBe('fd00:0:0:3e8::/128');
    expect(a.used).toBe(1n);
    const all = allocator(['::/0'], 128);
    all.reserve('::/1');
    expect(all.reserveNext()).toBe('8000::/128');
  });

  it('frees children only when the last of two nested holds of another length goes', () => {
    const a = allocator(['fd00::/48'], 128);
    a.reserve('fd00::/56');
    a.reserve('fd00::/60');
    a.reserve('fd00:0:0:100::/56');
    expect(a.reserveNext()).toBe('fd00:0:0:200::/128');
    a.release('fd00::/56');
    expect(a.reserveNext()).toBe('fd00:0:0:10::/128');
    a.release('fd00::/60');
    expect(a.reserveNext()).toBe('fd00::/128');
    // Removed in the other order: the inner hold goes first, the outer one still covers it all.
    const b = allocator(['fd00::/48'], 128);
    b.reserve('fd00::/56');
    b.reserve('fd00::/60');
    b.release('fd00::/60');
    expect(b.reserveNext()).toBe('fd00:0:0:100::/128');
    b.release('fd00::/56');
    expect(b.reserveNext()).toBe('fd00::/128');
  });

  it('keeps children covered by two holds of one child until both go', () => {
    // Two /128s in one /64 child cover the same single child.
    const a = allocator(['fd00::/62']);
    a.reserve('fd00::1/128');
    a.reserve('fd00::2/128');
    a.release('fd00::1/128');
    expect(a.reserveNext()).toBe('fd00:0:0:1::/64');
    a.release('fd00::2/128');
    expect(a.reserveNext()).toBe('fd00::/64');
  });

  it('is exhausted by a hold that covers the whole pool and more, and covers nothing from a gap', () => {
    const a = allocator(['fd00::/64'], 128);
    a.reserve('fd00::/63');
    expect(a.reserveNext()).toBeUndefined();
    expect(a.used).toBe(0n);
    a.release('fd00::/63');
    expect(a.reserveNext()).toBe('fd00::/128');
    const gap = allocator(['fd00::/64', 'fd00:0:0:2::/64'], 128);
    gap.reserve('fd00:0:0:1::/64');
    expect(gap.reserveNext()).toBe('fd00::/128');
    gap.reserve('fd00::/62');
    expect(gap.reserveNext()).toBeUndefined();
    gap.release('fd00::/62');
    expect(gap.reserveNext()).toBe('fd00::1/128');
  });

  it('counts children held in range under a larger hold, whichever of the two goes first', () => {
    const a = allocator(['fd00::/60']);
    expect(a.reserve('fd00::/64')).toBe('reserved');
    expect(a.reserve('fd00:0:0:1::/64')).toBe('reserved');
    expect(a.reserve('fd00::/62')).toBe('outside');
    expect(a.used).toBe(2n);
    // The larger hold goes first: the children held for themselves stay held.
    a.release('fd00::/62');
    expect(a.used).toBe(2n);
    expect(a.isReserved('fd00::/64')).toBe(true);
    expect(a.reserveNext()).toBe('fd00:0:0:2::/64');
    // A child held in range goes first: it is no longer used, and still not handed out.
    a.reserve('fd00::/62');
    a.release('fd00::/64');
    expect(a.used).toBe(2n);
    expect(a.isReserved('fd00::/64')).toBe(false);
    expect(a.reserveNext()).toBe('fd00:0:0:4::/64');
    a.release('fd00::/62');
    expect([a.reserveNext(), a.reserveNext()]).toEqual(['fd00::/64', 'fd00:0:0:3::/64']);
    expect(a.used).toBe(5n);
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
