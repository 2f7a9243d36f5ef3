import { describe, expect, it } from 'vitest';
import type { IPAddress } from '../api/capi-types.js';
import type { PrefixPool } from '../api/prefixpool-types.js';
import { bitmapAllocator, PoolRegistry } from './pool-registry.js';
import { prefixHoldKey } from './prefix-pools.js';

const KIND = 'InClusterPrefixPool';
const key = `${KIND}/ns/p`;
const pool = (spec: PrefixPool['spec']): PrefixPool => ({ metadata: { name: 'p', namespace: 'ns' }, spec });
const ip = (name: string, address: string, prefix: number | undefined = 64): IPAddress => ({
  metadata: { name, namespace: 'ns' },
  spec: {
    address,
    ...(prefix === undefined ? {} : { prefix }),
    claimRef: { name },
    poolRef: { apiGroup: 'ipam.cluster.x-k8s.io', kind: KIND, name: 'p' },
  } as IPAddress['spec'],
});

describe('prefix pools in the registry', () => {
  it('holds IPAddresses by their masked prefix; one without a prefix as a /128', () => {
    expect(prefixHoldKey('fd00::1', 64)).toBe('fd00::/64');
    expect(prefixHoldKey('fd00:0:0:1::', 64)).toBe('fd00:0:0:1::/64');
    expect(prefixHoldKey('fd00::7', undefined)).toBe('fd00::7/128');
    expect(prefixHoldKey('garbage', 64)).toBe('garbage');
  });

  it('hands out the lowest free child and writes network and length into the IPAddress', () => {
    const r = new PoolRegistry(bitmapAllocator);
    r.observeAddress(ip('a', 'fd00::', 64));
    const state = r.upsertPool(KIND, pool({ prefixes: ['fd00::/62'], gateway: 'fd00::1' }));
    expect(state.valid).toBe(true);
    expect(state.counts()).toEqual({ total: 4n, used: 1n, free: 3n, outOfRange: 0n, preAllocated: 0n });
    const next = state.reserveNext('ns/b');
    expect(next).toBe('fd00:0:0:1::/64');
    expect(state.ipAddressFields(next!)).toEqual({ address: 'fd00:0:0:1::', prefix: 64, gateway: 'fd00::1' });
    expect(state.gracePeriodSeconds).toBe(0);
  });

  it('counts allocations outside a shrunk spec as out of range, free never negative', () => {
    const r = new PoolRegistry(bitmapAllocator);
    r.upsertPool(KIND, pool({ prefixes: ['fd00::/62'] }));
    r.observeAddress(ip('a', 'fd00::'));
    r.observeAddress(ip('b', 'fd00:0:0:3::'));
    const shrunk = r.upsertPool(KIND, pool({ prefixes: ['fd00::/63'], excludedPrefixes: ['fd00::/64'] }));
    expect(shrunk.counts()).toEqual({ total: 1n, used: 2n, free: 1n, outOfRange: 2n, preAllocated: 0n });
    expect(r.get(key)?.addresses().sort()).toEqual(['fd00:0:0:3::/64', 'fd00::/64']);
  });

  it('marks a pool with an invalid spec not valid, with the Go message', () => {
    const r = new PoolRegistry(bitmapAllocator);
    const state = r.upsertPool(KIND, pool({ prefixes: ['10.0.0.0/8'] }));
    expect(state.valid).toBe(false);
    expect(state.invalidReason).toContain('only IPv6 prefixes are supported');
    expect(state.reserveNext('ns/x')).toBeUndefined();
  });
});
