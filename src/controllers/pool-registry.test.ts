import { describe, expect, it } from 'vitest';
import type { IPAddress } from '../api/capi-types.js';
import type { IPPool } from '../api/ippool-types.js';
import { bitmapAllocator, PoolRegistry } from './pool-registry.js';

const KIND = 'GlobalInClusterIPPool';
const pool = (name: string, addresses: string[]): IPPool =>
  ({ metadata: { name }, spec: { addresses, prefix: 24 } }) as IPPool;
const ip = (name: string, address: string, poolName = 'p', resourceVersion?: string): IPAddress => ({
  metadata: { name, namespace: 'ns', ...(resourceVersion ? { resourceVersion } : {}) },
  spec: {
    address,
    prefix: 24,
    claimRef: { name },
    poolRef: { apiGroup: 'ipam.cluster.x-k8s.io', kind: KIND, name: poolName },
  },
});
const key = `${KIND}//p`;

describe('PoolRegistry', () => {
  it('frees an IPAddress it wrote that a later list lacks, never one written after the list', () => {
    const released: string[] = [];
    const r = new PoolRegistry(bitmapAllocator, { onReleased: (p) => released.push(p.key) });
    const p = r.upsertPool(KIND, pool('p', ['10.0.0.1-10.0.0.4']));
    released.length = 0;
    // Our creates, as the API answered them; the watch delivered none of them.
    r.observeOwnWrite(ip('gone', '10.0.0.1', 'p', '100'));
    r.observeOwnWrite(ip('late', '10.0.0.2', 'p', '120'));
    r.observeOwnWrite(ip('listed', '10.0.0.3', 'p', '90'));
    r.observeOwnWrite(ip('confirmed', '10.0.0.4', 'p', '95'));
    r.observeAddress(ip('confirmed', '10.0.0.4', 'p', '95'));
    expect(p.counts()).toMatchObject({ used: 4n, free: 0n });
    // A list at 110 that holds only `listed`: `gone` was deleted while the watch was away; `late`
    // came after the list; `confirmed` is the informer's to forget, on its own DELETED.
    r.forgetUnlisted((key) => key === 'ns/listed', '110');
    expect(p.counts()).toMatchObject({ used: 3n, free: 1n });
    expect(released).toEqual([key]);
    expect(p.reserveNext('ns/next')).toBe('10.0.0.1');
    expect(r.addressCount(key)).toBe(3);
    // Once listed, an address is the informer's: a later list without it frees nothing here
    // (its own DELETED, or the informer's relist, does). `late` is listed this time.
    r.forgetUnlisted((k) => k === 'ns/late', '200');
    expect(r.addressCount(key)).toBe(3);
    expect(p.addressOf('ns/listed')).toBe('10.0.0.3');
    expect(p.addressOf('ns/confirmed')).toBe('10.0.0.4');
    expect(p.addressOf('ns/late')).toBe('10.0.0.2');
  });

  it('holds addresses seen before their pool exists, and after it went and came back', () => {
    const r = new PoolRegistry(bitmapAllocator);
    r.observeAddress(ip('a', '10.0.0.1'));
    r.observeAddress(ip('b', '10.0.0.2'));
    expect(r.addressCount(key)).toBe(2);
    const first = r.upsertPool(KIND, pool('p', ['10.0.0.1-10.0.0.3']));
    expect(first.counts()).toMatchObject({ used: 2n, free: 1n });
    r.removePool(KIND, pool('p', ['10.0.0.1-10.0.0.3']));
    const again = r.upsertPool(KIND, pool('p', ['10.0.0.1-10.0.0.3']));
    expect(again.counts()).toMatchObject({ used: 2n, free: 1n });
    expect(again.reserveNext('ns/c')).toBe('10.0.0.3');
  });

  it('keeps a reservation across its pool going and coming back, and frees it there later', () => {
    // A claim reserved 10.0.0.1 and is creating its IPAddress when the pool is deleted (its
    // finalizer stripped by hand) and re-created: the address must not go to another claim.
    const r = new PoolRegistry(bitmapAllocator);
    const first = r.upsertPool(KIND, pool('p', ['10.0.0.1-10.0.0.3']));
    expect(first.reserveNext('ns/inflight')).toBe('10.0.0.1');
    r.removePool(KIND, pool('p', ['10.0.0.1-10.0.0.3']));
    expect(r.poolHolding('ns/inflight')).toBe(key);
    const again = r.upsertPool(KIND, pool('p', ['10.0.0.1-10.0.0.3']));
    expect(again.reserveNext('ns/other')).toBe('10.0.0.2');
    // The create failed for sure, released through the state the claim started with.
    r.releaseReservation(first, 'ns/inflight');
    expect(again.addressOf('ns/inflight')).toBeUndefined();
    expect(again.reserveNext('ns/third')).toBe('10.0.0.1');
    expect(r.poolHolding('ns/inflight')).toBeUndefined();
  });

  it('drops a reservation kept for a pool that is gone when it is released', () => {
    const r = new PoolRegistry(bitmapAllocator);
    const p = r.upsertPool(KIND, pool('p', ['10.0.0.1-10.0.0.3']));
    p.reserveNext('ns/inflight');
    r.removePool(KIND, pool('p', ['10.0.0.1-10.0.0.3']));
    r.releaseReservation(p, 'ns/inflight');
    expect(r.poolHolding('ns/inflight')).toBeUndefined();
    const again = r.upsertPool(KIND, pool('p', ['10.0.0.1-10.0.0.3']));
    expect(again.counts()).toMatchObject({ used: 0n, free: 3n });
  });

  it('does not hold an own write whose object the watch already showed deleted', () => {
    // The create's answer is handled after the watch delivered ADDED and DELETED (someone deleted
    // the IPAddress at once): holding it then would keep 10.0.0.1 for an object that is gone.
    const r = new PoolRegistry(bitmapAllocator);
    const p = r.upsertPool(KIND, pool('p', ['10.0.0.1-10.0.0.3']));
    r.observeAddress(ip('a', '10.0.0.1', 'p', '100'));
    r.observeDeleted(ip('a', '10.0.0.1', 'p', '101'));
    r.observeOwnWrite(ip('a', '10.0.0.1', 'p', '100'));
    expect(p.counts()).toMatchObject({ used: 0n, free: 3n });
    expect(r.addressCount(key)).toBe(0);
    // A later object of the same name is held as usual.
    r.observeOwnWrite(ip('a', '10.0.0.2', 'p', '150'));
    expect(p.addressOf('ns/a')).toBe('10.0.0.2');
  });

  it('holds an IPAddress whose poolRef has no apiGroup, as the Go provider’s index reads it', () => {
    const r = new PoolRegistry(bitmapAllocator);
    const p = r.upsertPool(KIND, pool('p', ['10.0.0.1-10.0.0.2']));
    const bare = ip('old', '10.0.0.1');
    bare.spec.poolRef = { kind: KIND, name: 'p' } as never;
    r.observeAddress(bare);
    const empty = ip('older', '10.0.0.2');
    empty.spec.poolRef = { apiGroup: '', kind: KIND, name: 'p' };
    r.observeAddress(empty);
    expect(p.counts()).toMatchObject({ used: 2n, free: 0n });
    expect(p.reserveNext('ns/c')).toBeUndefined();
    // Another group's pool of the same kind name is not ours.
    const foreign = ip('x', '10.0.0.9');
    foreign.spec.poolRef = { apiGroup: 'example.com', kind: KIND, name: 'p' };
    r.observeAddress(foreign);
    expect(r.addressCount(key)).toBe(2);
  });

  it('frees an address when its IPAddress goes, and moves one that changed address', () => {
    const released: string[] = [];
    const r = new PoolRegistry(bitmapAllocator, { onReleased: (p) => released.push(p.key) });
    const p = r.upsertPool(KIND, pool('p', ['10.0.0.1-10.0.0.3']));
    released.length = 0;
    r.observeAddress(ip('a', '10.0.0.1'));
    r.observeAddress(ip('a', '10.0.0.2'));
    expect(p.addressOf('ns/a')).toBe('10.0.0.2');
    expect(p.counts()).toMatchObject({ used: 1n, free: 2n });
    r.forgetAddress(ip('a', '10.0.0.2'));
    expect(p.counts()).toMatchObject({ used: 0n, free: 3n });
    expect(r.addressCount(key)).toBe(0);
    expect(released).toContain(key);
  });

  it('keeps an address while a reservation of the same key is dropped', () => {
    const r = new PoolRegistry(bitmapAllocator);
    const p = r.upsertPool(KIND, pool('p', ['10.0.0.1-10.0.0.3']));
    r.observeAddress(ip('a', '10.0.0.1'));
    r.releaseReservation(p, 'ns/a');
    expect(p.addressOf('ns/a')).toBe('10.0.0.1');
  });

  it('reports two IPAddresses with one address and frees it only when both are gone', () => {
    const dupes: string[][] = [];
    const r = new PoolRegistry(bitmapAllocator, { onDuplicate: (_p, _a, holders) => dupes.push(holders) });
    const p = r.upsertPool(KIND, pool('p', ['10.0.0.1-10.0.0.3']));
    r.observeAddress(ip('a', '10.0.0.1'));
    r.observeAddress(ip('b', '10.0.0.1'));
    expect(dupes).toEqual([['ns/a', 'ns/b']]);
    r.forgetAddress(ip('a', '10.0.0.1'));
    expect(p.counts()).toMatchObject({ used: 1n, free: 2n });
    r.forgetAddress(ip('b', '10.0.0.1'));
    expect(p.counts()).toMatchObject({ used: 0n, free: 3n });
  });

  it('keeps allocations across a spec change, out-of-range ones counted as such', () => {
    const r = new PoolRegistry(bitmapAllocator);
    r.upsertPool(KIND, pool('p', ['10.0.0.1-10.0.0.3']));
    r.observeAddress(ip('a', '10.0.0.3'));
    const shrunk = r.upsertPool(KIND, pool('p', ['10.0.0.1-10.0.0.2']));
    expect(shrunk.counts()).toEqual({ total: 2n, used: 1n, free: 2n, outOfRange: 1n, preAllocated: 0n });
  });
});
