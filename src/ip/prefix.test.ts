import { describe, expect, it } from 'vitest';
import {
  candidateIndex,
  formatChild,
  overlappedChildren,
  type PrefixCandidates,
  parsePrefix,
  prefixCandidates,
  prefixOfAddress,
} from './prefix.js';

function candidates(prefixes: string[], allocationPrefixLength = 64, excludedPrefixes?: string[]) {
  const result = prefixCandidates({ prefixes, allocationPrefixLength, excludedPrefixes });
  if (!result.ok) throw new Error(result.error);
  return result.value;
}

function children(c: PrefixCandidates, n: number): string[] {
  const out: string[] = [];
  for (const r of c.children.ranges) {
    for (let i = r.first; i <= r.last && out.length < n; i++) out.push(formatChild(c, i));
  }
  return out;
}

describe('prefix pool candidates', () => {
  it('counts 4 /64s in fd00::/62 and 256 /56s in fd40::/48 (Go test examples)', () => {
    expect(candidates(['fd00::/62']).children.size).toBe(4n);
    expect(candidates(['fd40::/48'], 56).children.size).toBe(256n);
  });

  it('lists children lowest address first: fd00::, fd00:0:0:1:: for /64 and fd06::, fd06:0:0:100:: for /56', () => {
    expect(children(candidates(['fd00::/48']), 2)).toEqual(['fd00::/64', 'fd00:0:0:1::/64']);
    expect(children(candidates(['fd06::/48'], 56), 2)).toEqual(['fd06::/56', 'fd06:0:0:100::/56']);
  });

  it('merges overlapping and duplicate prefixes and sorts them by address', () => {
    const c = candidates(['fd01::/63', 'fd00::/63', 'fd00::/64', 'fd00::/63']);
    expect(c.children.size).toBe(4n);
    expect(children(c, 4)).toEqual(['fd00::/64', 'fd00:0:0:1::/64', 'fd01::/64', 'fd01:0:0:1::/64']);
  });

  it('skips every child that overlaps an excluded IP, range or CIDR', () => {
    const c = candidates(['fd00::/62'], 64, ['fd00::5', 'fd00:0:0:1:ffff::-fd00:0:0:2::1']);
    expect(children(c, 4)).toEqual(['fd00:0:0:3::/64']);
    expect(c.children.size).toBe(1n);
  });

  it('ignores IPv4 excluded entries and excluded entries outside the pool', () => {
    expect(candidates(['fd00::/62'], 64, ['10.0.0.1', 'fe80::/10']).children.size).toBe(4n);
  });

  it('holds the full IPv6 space exactly: 2^64 /64s in ::/0', () => {
    expect(candidates(['::/0']).children.size).toBe(2n ** 64n);
    expect(candidates(['::/0'], 128).children.size).toBe(2n ** 128n);
  });

  it('fails for prefixes that are not aligned IPv6 CIDRs and for unparseable exclusions', () => {
    expect(prefixCandidates({ prefixes: ['fd00::1/64'], allocationPrefixLength: 64 }).ok).toBe(false);
    expect(prefixCandidates({ prefixes: ['10.0.0.0/8'], allocationPrefixLength: 64 }).ok).toBe(false);
    expect(prefixCandidates({ prefixes: ['fd00::'], allocationPrefixLength: 64 }).ok).toBe(false);
    expect(prefixCandidates({ prefixes: [], allocationPrefixLength: 64 }).ok).toBe(false);
    expect(prefixCandidates({ prefixes: ['fd00::/48'], allocationPrefixLength: 0 }).ok).toBe(false);
    const bad = prefixCandidates({
      prefixes: ['fd00::/48'],
      allocationPrefixLength: 64,
      excludedPrefixes: ['x'],
    });
    expect(bad.ok).toBe(false);
  });

  it('says which prefixes are allocatable: exact length, inside, not excluded', () => {
    const c = candidates(['fd00::/62'], 64, ['fd00:0:0:2::/64']);
    const at = (text: string) => {
      const p = parsePrefix(text);
      if (!p.ok) throw new Error(p.error);
      return candidateIndex(c, p.value);
    };
    expect(at('fd00:0:0:1::/64')).toBe(0xfd00_0000_0000_0001n);
    expect(at('fd00:0:0:2::/64')).toBeUndefined();
    expect(at('fd00:0:0:4::/64')).toBeUndefined();
    expect(at('fd00::/63')).toBeUndefined();
    expect(at('fd00::/128')).toBeUndefined();
  });

  it('derives the prefix of an IPAddress masked, and the children a prefix overlaps', () => {
    const p = prefixOfAddress('fd00::1:2', 64);
    expect(p).toEqual({ ok: true, value: { network: 0xfd00n << 112n, length: 64 } });
    expect(prefixOfAddress('fd00::', undefined).ok).toBe(false);
    expect(prefixOfAddress('10.0.0.1', 24).ok).toBe(false);
    const c = candidates(['fd00::/48']);
    const wide = parsePrefix('fd00::/62');
    if (!wide.ok) throw new Error(wide.error);
    const r = overlappedChildren(c, wide.value);
    expect(r.last - r.first).toBe(3n);
    const narrow = parsePrefix('fd00:0:0:1::5/128');
    if (!narrow.ok) throw new Error(narrow.error);
    const n = overlappedChildren(c, narrow.value);
    expect(n.first).toBe(n.last);
    expect(formatChild(c, n.first)).toBe('fd00:0:0:1::/64');
  });
});
