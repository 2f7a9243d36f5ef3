/**
 * A claim that asks for one address (annotation ipam.cluster.x-k8s.io/requested-address) gets
 * exactly that address or none: never another, never one taken from its holder.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlane } from '../harness/control-plane.js';
import { waitFor } from '../harness/wait.js';
import {
  addressPath,
  claimPath,
  createClaim,
  createNamespace,
  createPool,
  eventCount,
  get,
  listAddresses,
  type RunningController,
  readyOf,
  startController,
  startControlPlane,
  waitForAddress,
  waitForReason,
} from './fixture.js';

const REQUESTED = 'ipam.cluster.x-k8s.io/requested-address';

describe('a requested address', () => {
  let cp: ControlPlane;
  let ctl: RunningController | undefined;
  const ns = 'requested';
  const pool = { kind: 'InClusterIPPool', name: 'vips' } as const;
  const ask = (address: string) => ({ annotations: { [REQUESTED]: address } });

  beforeAll(async () => {
    cp = await startControlPlane();
    await createNamespace(cp.access, ns);
    await createPool(cp.access, pool.kind, ns, pool.name, {
      addresses: ['10.90.0.0/24'],
      prefix: 24,
      gateway: '10.90.0.1',
      excludedAddresses: ['10.90.0.200-10.90.0.210'],
    });
    ctl = await startController(cp);
  });
  afterAll(async () => {
    await ctl?.stop();
    await cp?.stop();
  });

  it('is handed out when it is free, as any other address', async () => {
    await createClaim(cp.access, ns, 'vip-a', pool, ask('10.90.0.50'));
    expect(await waitForAddress(cp.access, ns, 'vip-a')).toBe('10.90.0.50');
    const ip = await get(cp.access, addressPath(ns, 'vip-a'));
    expect(ip?.metadata.finalizers).toContain('ipam.cluster.x-k8s.io/ProtectAddress');
    expect(readyOf(await get(cp.access, claimPath(ns, 'vip-a')))?.reason).toBe('AddressAllocated');
    // Other claims still get the lowest free address, not the requested one.
    await createClaim(cp.access, ns, 'plain', pool);
    expect(await waitForAddress(cp.access, ns, 'plain')).toBe('10.90.0.2');
  });

  it('waits as AddressInUse, naming the holder, and is served when the holder lets go', async () => {
    await createClaim(cp.access, ns, 'vip-b', pool, ask('10.90.0.50'));
    const claim = await waitForReason(cp.access, ns, 'vip-b', 'AddressInUse');
    expect(readyOf(claim)?.message).toContain(`${ns}/vip-a`);
    expect(await get(cp.access, addressPath(ns, 'vip-b'))).toBeUndefined();
    // Seen where operators look: the not-Ready gauge, by pool and reason, counted when scraped.
    const gauge = await ctl?.metrics.registry.getSingleMetric('ipam_claims_not_ready')?.get();
    const waiting = gauge?.values.find(
      (v) => v.labels.reason === 'AddressInUse' && v.labels.pool === `InClusterIPPool/${ns}/vips`,
    );
    expect(waiting?.value).toBe(1);
    expect((await cp.access.request('DELETE', claimPath(ns, 'vip-a'))).status).toBe(200);
    expect(await waitForAddress(cp.access, ns, 'vip-b')).toBe('10.90.0.50');
  });

  it('says which rule keeps an address out of the pool', async () => {
    const cases: [string, string, string][] = [
      ['out-gw', '10.90.0.1', 'gateway'],
      ['out-excluded', '10.90.0.205', 'spec.excludedAddresses entry 10.90.0.200-10.90.0.210'],
      ['out-range', '10.91.0.5', 'not in spec.addresses'],
      ['out-broadcast', '10.90.0.255', 'broadcast'],
    ];
    for (const [name, address] of cases) await createClaim(cp.access, ns, name, pool, ask(address));
    for (const [name, , rule] of cases) {
      const claim = await waitForReason(cp.access, ns, name, 'AddressNotInPool');
      expect(readyOf(claim)?.message).toContain(rule);
      expect(await get(cp.access, addressPath(ns, name))).toBeUndefined();
    }
  });

  it('refuses what is not an address, quoting the parser', async () => {
    await createClaim(cp.access, ns, 'garbage', pool, ask('10.90.0.300'));
    const claim = await waitForReason(cp.access, ns, 'garbage', 'InvalidRequestedAddress');
    expect(readyOf(claim)?.message).toContain('10.90.0.300');
    expect(await get(cp.access, addressPath(ns, 'garbage'))).toBeUndefined();
  });

  it('changes nothing when the annotation of a bound claim changes, and warns once', async () => {
    await createClaim(cp.access, ns, 'settled', pool, ask('10.90.0.60'));
    expect(await waitForAddress(cp.access, ns, 'settled')).toBe('10.90.0.60');
    const patched = await cp.access.request(
      'PATCH',
      claimPath(ns, 'settled'),
      { metadata: { annotations: { [REQUESTED]: '10.90.0.61' } } },
      { contentType: 'application/merge-patch+json' },
    );
    expect(patched.status).toBe(200);
    await waitFor(
      'the warning',
      async () => (await eventCount(cp.access, ns, 'settled', 'RequestedAddressIgnored')) > 0,
    );
    expect((await get(cp.access, addressPath(ns, 'settled')))?.spec?.address).toBe('10.90.0.60');
    expect(await eventCount(cp.access, ns, 'settled', 'RequestedAddressIgnored')).toBe(1);
  });

  it('goes to exactly one of 200 claims racing for it, then to the next when the winner goes', async () => {
    const names = Array.from({ length: 200 }, (_, i) => `race-${i}`);
    await Promise.all(names.map((n) => createClaim(cp.access, ns, n, pool, ask('10.90.0.99'))));
    const holders = async () =>
      (await listAddresses(cp.access, ns)).filter((a) => a.metadata.name.startsWith('race-'));
    const winner = await waitFor('one winner', async () => {
      const won = await holders();
      return won.length > 0 ? won : undefined;
    });
    // Everyone else says why it waits, and none got another address.
    for (const n of names) {
      if (n === winner[0]?.metadata.name) continue;
      await waitForReason(cp.access, ns, n, 'AddressInUse');
    }
    const won = await holders();
    expect(won.map((a) => a.spec?.address)).toEqual(['10.90.0.99']);
    const first = won[0]?.metadata.name ?? '';
    expect((await cp.access.request('DELETE', claimPath(ns, first))).status).toBe(200);
    const next = await waitFor('the next winner', async () => {
      const now = await holders();
      return now.length === 1 && now[0]?.metadata.name !== first ? now : undefined;
    });
    expect(next.map((a) => a.spec?.address)).toEqual(['10.90.0.99']);
    expect((await holders()).length).toBe(1);
  }, 180_000);
});
