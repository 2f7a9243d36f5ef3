import { describe, expect, it } from 'vitest';
import { formatFieldError } from './errors.js';
import type { PrefixPoolSpec } from './prefixpool-types.js';
import {
  defaultPrefixPoolSpec,
  prefixPoolWarnings,
  validatePrefixPoolObject,
  validatePrefixPoolSpec,
  validatePrefixPoolUpdate,
  WARN_GATEWAY_COLLISION,
  WARN_HOST_LIKE,
} from './validate-prefix.js';

const messages = (spec: PrefixPoolSpec) => validatePrefixPoolSpec(spec).map(formatFieldError);

describe('prefix pool validation (the Go provider invalid scenarios)', () => {
  it.each([
    [{ prefixes: [] }, ['spec.prefixes: Invalid value: []: prefixes is required']],
    [
      { prefixes: ['fd00::/48'], allocationPrefixLength: 129 },
      ['spec.allocationPrefixLength: Invalid value: 129: allocationPrefixLength must be between 1 and 128'],
    ],
    [
      { prefixes: ['fd00::/48'], allocationPrefixLength: -1 },
      ['spec.allocationPrefixLength: Invalid value: -1: allocationPrefixLength must be between 1 and 128'],
    ],
    [
      { prefixes: ['garbage'] },
      ['spec.prefixes: Invalid value: "garbage": provided entry is not a valid IPv6 CIDR'],
    ],
    [
      { prefixes: ['fd00::'] },
      ['spec.prefixes: Invalid value: "fd00::": provided entry is not a valid IPv6 CIDR'],
    ],
    [
      { prefixes: ['10.0.0.0/24'] },
      ['spec.prefixes: Invalid value: "10.0.0.0/24": only IPv6 prefixes are supported'],
    ],
    [
      { prefixes: ['fd00::1/48'] },
      ['spec.prefixes: Invalid value: "fd00::1/48": CIDR must be network-aligned'],
    ],
    [
      { prefixes: ['fd00::/72'] },
      [
        'spec.prefixes: Invalid value: "fd00::/72": CIDR prefix length must be <= allocationPrefixLength (64)',
      ],
    ],
    [
      { prefixes: ['fd00::/48'], gateway: 'nope' },
      ['spec.gateway: Invalid value: "nope": ParseAddr("nope"): unable to parse IP'],
    ],
    [
      { prefixes: ['fd00::/48'], gateway: '10.0.0.1' },
      ['spec.gateway: Invalid value: "10.0.0.1": provided gateway must be IPv6'],
    ],
    [
      { prefixes: ['fd00::/48'], excludedPrefixes: ['x'] },
      ['spec.excludedPrefixes: Invalid value: "x": provided entry is not a valid IP, range, nor CIDR'],
    ],
    [
      { prefixes: ['fd00::/48'], excludedPrefixes: ['10.0.0.0/8'] },
      ['spec.excludedPrefixes: Invalid value: "10.0.0.0/8": only IPv6 excluded prefixes are supported'],
    ],
  ] as [PrefixPoolSpec, string[]][])('refuses %j', (spec, expected) => {
    expect(messages(spec)).toEqual(expected);
  });

  it('admits overlapping and duplicate prefixes, excluded entries outside, a gateway anywhere', () => {
    expect(
      messages({
        prefixes: ['fd00::/48', 'fd00::/56', 'fd00::/48'],
        gateway: 'fe80::1',
        excludedPrefixes: ['fd00::1', 'fd00::5-fd00::9', 'fe00::/16'],
      }),
    ).toEqual([]);
  });

  it('defaults allocationPrefixLength to 64 when unset or 0, and keeps other values', () => {
    expect(defaultPrefixPoolSpec({ prefixes: ['fd00::/48'] }).allocationPrefixLength).toBe(64);
    expect(
      defaultPrefixPoolSpec({ prefixes: ['fd00::/48'], allocationPrefixLength: 0 }).allocationPrefixLength,
    ).toBe(64);
    expect(
      defaultPrefixPoolSpec({ prefixes: ['fd00::/48'], allocationPrefixLength: 56 }).allocationPrefixLength,
    ).toBe(56);
  });

  it('checks the shape of what it is given first', () => {
    expect(validatePrefixPoolObject({})).toHaveLength(1);
    expect(validatePrefixPoolObject({ spec: { prefixes: 'fd00::/48' } }).length).toBeGreaterThan(0);
    expect(validatePrefixPoolObject({ spec: { prefixes: ['fd00::/48'], gateway: null } })).toEqual([]);
  });
});

describe('prefix pool updates', () => {
  const old: PrefixPoolSpec = { prefixes: ['fd00::/62'], allocationPrefixLength: 64 };

  it('refuses a change of allocationPrefixLength, counting unset as 64', () => {
    expect(
      validatePrefixPoolUpdate(old, { prefixes: ['fd00::/62'], allocationPrefixLength: 63 }, []),
    ).toEqual({
      allowed: false,
      reason: 'BadRequest',
      message: 'spec.allocationPrefixLength is immutable',
    });
    expect(validatePrefixPoolUpdate(old, { prefixes: ['fd00::/62'] }, []).allowed).toBe(true);
  });

  it('refuses a shrink or exclusion that leaves allocations out, listing them sorted', () => {
    const allocated = ['fd00:0:0:3::/64', 'fd00::/64', 'fd00:0:0:1::/64'];
    expect(
      validatePrefixPoolUpdate(old, { prefixes: ['fd00::/63'], excludedPrefixes: ['fd00::5'] }, allocated),
    ).toEqual({
      allowed: false,
      reason: 'BadRequest',
      message: 'existing allocations become non-allocatable: [fd00:0:0:3:: fd00::]',
    });
  });

  it('admits changes that keep every allocation, and any gateway change', () => {
    const allocated = ['fd00::/64'];
    expect(
      validatePrefixPoolUpdate(old, { prefixes: ['fd00::/48'], gateway: 'fd00::1' }, allocated).allowed,
    ).toBe(true);
    expect(
      validatePrefixPoolUpdate(old, { ...old, excludedPrefixes: ['fd00:0:0:2::/64'] }, allocated).allowed,
    ).toBe(true);
  });

  it('reports the Go errors of an invalid new spec before anything else', () => {
    const check = validatePrefixPoolUpdate(old, { prefixes: [] }, []);
    expect(check.allowed === false && check.reason).toBe('Invalid');
  });
});

describe('prefix pool warnings', () => {
  it('warns only for /128 allocations, and about a gateway inside the prefixes', () => {
    expect(prefixPoolWarnings({ prefixes: ['fd00::/64'] })).toEqual([]);
    expect(prefixPoolWarnings({ prefixes: ['fd00::/120'], allocationPrefixLength: 128 })).toEqual([
      WARN_HOST_LIKE,
    ]);
    expect(
      prefixPoolWarnings({ prefixes: ['fd00::/120'], allocationPrefixLength: 128, gateway: 'fe80::1' }),
    ).toEqual([WARN_HOST_LIKE]);
    expect(
      prefixPoolWarnings({ prefixes: ['fd00::/120'], allocationPrefixLength: 128, gateway: 'fd00::1' }),
    ).toEqual([WARN_HOST_LIKE, WARN_GATEWAY_COLLISION]);
  });
});
