import { describe, expect, it } from 'vitest';
import { poolAllocatableSet } from '../ip/index.js';
import { bitmapAllocator } from './pool-registry.js';
import { PoolState } from './pool-state.js';

function pool(addresses: string[], prefix = 24, pins: [string, string][] = []): PoolState {
  const spec = { addresses, prefix };
  const set = poolAllocatableSet(spec);
  if (!set.ok) throw new Error(set.error);
  return new PoolState('k', 'InClusterIPPool', { spec }, bitmapAllocator(set.value), undefined, pins);
}

describe('PoolState', () => {
  it('gives a holder the same reservation until it lets go', () => {
    const p = pool(['10.0.0.1-10.0.0.3']);
    expect(p.reserveNext('ns/a')).toBe('10.0.0.1');
    expect(p.reserveNext('ns/a')).toBe('10.0.0.1');
    expect(p.reserveNext('ns/b')).toBe('10.0.0.2');
    expect(p.unhold('ns/a')).toBe('10.0.0.1');
    expect(p.reserveNext('ns/c')).toBe('10.0.0.1');
  });

  it('frees a shared address only when its last holder goes, and reports the duplicate', () => {
    const p = pool(['10.0.0.1-10.0.0.2']);
    expect(p.hold('10.0.0.1', 'ns/a')).toEqual({});
    expect(p.hold('10.0.0.1', 'ns/b')).toEqual({ duplicateOf: 'ns/a' });
    expect(p.counts()).toEqual({ total: 2n, used: 2n, free: 1n, outOfRange: 0n, preAllocated: 0n });
    expect(p.unhold('ns/a')).toBeUndefined();
    expect(p.reserveNext('ns/c')).toBe('10.0.0.2');
    expect(p.unhold('ns/b')).toBe('10.0.0.1');
    expect(p.counts().free).toBe(1n);
  });

  it('counts addresses outside the set as out of range and never lets free go negative', () => {
    const p = pool(['10.0.0.1']);
    p.hold('10.0.0.1', 'ns/a');
    p.hold('10.0.0.9', 'ns/b');
    p.hold('10.0.0.10', 'ns/c');
    expect(p.counts()).toEqual({ total: 1n, used: 3n, free: 0n, outOfRange: 2n, preAllocated: 0n });
    expect(p.reserveNext('ns/d')).toBeUndefined();
  });

  it('carries every holder over to a new spec', () => {
    const old = pool(['10.0.0.1-10.0.0.4']);
    old.reserveNext('ns/a');
    old.reserveNext('ns/b');
    old.waiting.add('ns/w');
    const next = pool(['10.0.0.2-10.0.0.8']);
    old.moveTo(next);
    expect(next.addressOf('ns/a')).toBe('10.0.0.1');
    expect(next.counts()).toEqual({ total: 7n, used: 2n, free: 6n, outOfRange: 1n, preAllocated: 0n });
    expect(next.reserveNext('ns/c')).toBe('10.0.0.3');
    expect([...next.waiting]).toEqual(['ns/w']);
  });

  it('hands a pinned address only to its claim, and counts it preAllocated, not free', () => {
    const p = pool(['10.0.0.1-10.0.0.3'], 24, [['ns/vip', '10.0.0.1']]);
    expect(p.counts()).toEqual({ total: 3n, used: 0n, free: 2n, outOfRange: 0n, preAllocated: 1n });
    expect(p.reserveNext('ns/a')).toBe('10.0.0.2');
    expect(p.reserveChosen('ns/b', '10.0.0.1')).toEqual({ pinnedTo: 'ns/vip' });
    expect(p.reserveChosen('ns/vip', '10.0.0.1')).toEqual({ reserved: '10.0.0.1' });
    expect(p.counts()).toEqual({ total: 3n, used: 2n, free: 1n, outOfRange: 0n, preAllocated: 0n });
    // Released by its claim, the address is pinned still: nobody else's, and not free.
    expect(p.unhold('ns/vip')).toBe('10.0.0.1');
    expect(p.counts()).toEqual({ total: 3n, used: 1n, free: 1n, outOfRange: 0n, preAllocated: 1n });
    expect(p.reserveNext('ns/c')).toBe('10.0.0.3');
    expect(p.reserveNext('ns/d')).toBeUndefined();
  });

  it('never takes a chosen address from its holder, and says who holds it', () => {
    const p = pool(['10.0.0.1-10.0.0.3']);
    expect(p.reserveChosen('ns/a', '10.0.0.2')).toEqual({ reserved: '10.0.0.2' });
    expect(p.reserveChosen('ns/b', '10.0.0.2')).toEqual({ heldBy: 'ns/a' });
    expect(p.reserveChosen('ns/b', '10.0.0.9')).toEqual({ outside: true });
    // A holder keeps what it has: its IPAddress may be on its way.
    expect(p.reserveChosen('ns/a', '10.0.0.3')).toEqual({ heldBy: 'ns/a' });
    expect(p.reserveNext('ns/c')).toBe('10.0.0.1');
    p.unhold('ns/a');
    expect(p.reserveChosen('ns/b', '10.0.0.2')).toEqual({ reserved: '10.0.0.2' });
  });

  it('counts a pin held by an IPAddress of another name as held, not preAllocated', () => {
    const p = pool(['10.0.0.1-10.0.0.2'], 24, [['ns/vip', '10.0.0.1']]);
    expect(p.hold('10.0.0.1', 'ns/squatter')).toEqual({});
    expect(p.counts()).toEqual({ total: 2n, used: 1n, free: 1n, outOfRange: 0n, preAllocated: 0n });
    expect(p.reserveChosen('ns/vip', '10.0.0.1')).toEqual({ heldBy: 'ns/squatter' });
    p.unhold('ns/squatter');
    expect(p.counts().preAllocated).toBe(1n);
    expect(p.reserveChosen('ns/vip', '10.0.0.1')).toEqual({ reserved: '10.0.0.1' });
  });

  it('ignores a pin outside the allocatable set and the second pin of one claim or address', () => {
    const p = pool(['10.0.0.1-10.0.0.3'], 24, [
      ['ns/out', '10.0.0.9'],
      ['ns/a', '10.0.0.1'],
      ['ns/a', '10.0.0.2'],
      ['ns/b', '10.0.0.1'],
    ]);
    expect(p.counts()).toEqual({ total: 3n, used: 0n, free: 2n, outOfRange: 0n, preAllocated: 1n });
    expect(p.pinOf('ns/a')).toBe('10.0.0.1');
    expect(p.pinOf('ns/b')).toBeUndefined();
    expect(p.reserveChosen('ns/out', '10.0.0.9')).toEqual({ outside: true });
  });
});
