/**
 * Pools that say which address goes where: pins (spec.preAllocations), tenancy of global pools
 * (spec.namespaceSelector) and allocation order (spec.allocationStrategy), against the real API
 * server with the controller in-process.
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
  get,
  type PoolSpec,
  poolPath,
  type RunningController,
  readyOf,
  startController,
  startControlPlane,
  touchClaim,
  waitForAddress,
  waitForReason,
} from './fixture.js';

type ChosenSpec = PoolSpec & {
  preAllocations?: { claimName: string; namespace?: string; address: string }[];
  namespaceSelector?: { matchLabels?: Record<string, string> };
  allocationStrategy?: string;
};

describe('addresses people choose', () => {
  let cp: ControlPlane;
  let ctl: RunningController | undefined;
  const ns = 'chosen';
  const tenantA = 'tenant-a';
  const tenantB = 'tenant-b';

  beforeAll(async () => {
    cp = await startControlPlane();
    await createNamespace(cp.access, ns);
    for (const [name, labels] of [
      [tenantA, { tenant: 'a' }],
      [tenantB, { tenant: 'b' }],
    ] as const) {
      const res = await cp.access.request('POST', '/api/v1/namespaces', { metadata: { name, labels } });
      expect(res.status).toBe(201);
    }
    ctl = await startController(cp);
  });
  afterAll(async () => {
    await ctl?.stop();
    await cp?.stop();
  });

  async function restart(): Promise<void> {
    await ctl?.stop();
    ctl = await startController(cp);
  }

  const pool = (kind: 'InClusterIPPool' | 'GlobalInClusterIPPool', name: string, spec: ChosenSpec) =>
    createPool(cp.access, kind, ns, name, spec as PoolSpec);

  async function poolStatus(kind: 'InClusterIPPool' | 'GlobalInClusterIPPool', name: string) {
    return (await get(cp.access, poolPath(kind, ns, name)))?.status as
      | { ipAddresses?: Record<string, number>; lastAllocated?: string }
      | undefined;
  }

  it('keeps a pinned address for its claim, across a restart before the claim appears', async () => {
    await pool('GlobalInClusterIPPool', 'pinned', {
      addresses: ['10.95.0.1-10.95.0.4'],
      prefix: 24,
      preAllocations: [{ claimName: 'cp-vip', namespace: ns, address: '10.95.0.1' }],
    });
    await waitFor('preAllocated in the status', async () => {
      const s = await poolStatus('GlobalInClusterIPPool', 'pinned');
      return s?.ipAddresses?.preAllocated === 1 && s.ipAddresses.free === 3;
    });
    const ref = { kind: 'GlobalInClusterIPPool', name: 'pinned' };
    await createClaim(cp.access, ns, 'worker-0', ref);
    expect(await waitForAddress(cp.access, ns, 'worker-0')).toBe('10.95.0.2');
    await restart();
    await createClaim(cp.access, ns, 'worker-1', ref);
    expect(await waitForAddress(cp.access, ns, 'worker-1')).toBe('10.95.0.3');
    await createClaim(cp.access, ns, 'cp-vip', ref);
    expect(await waitForAddress(cp.access, ns, 'cp-vip')).toBe('10.95.0.1');
    await waitFor('the pin taken', async () => {
      const s = await poolStatus('GlobalInClusterIPPool', 'pinned');
      return s?.ipAddresses?.preAllocated === 0 && s.ipAddresses.used === 3 && s.ipAddresses.free === 1;
    });
    // Same claim name in another namespace: not the pinned claim.
    await createClaim(cp.access, tenantA, 'cp-vip', ref);
    expect(await waitForAddress(cp.access, tenantA, 'cp-vip')).toBe('10.95.0.4');
  });

  it('refuses a pinned claim that asks for another address: AddressConflict', async () => {
    await pool('InClusterIPPool', 'conflict', {
      addresses: ['10.96.0.1-10.96.0.4'],
      prefix: 24,
      preAllocations: [{ claimName: 'torn', address: '10.96.0.2' }],
    });
    await createClaim(
      cp.access,
      ns,
      'torn',
      { kind: 'InClusterIPPool', name: 'conflict' },
      { annotations: { 'ipam.cluster.x-k8s.io/requested-address': '10.96.0.3' } },
    );
    const claim = await waitForReason(cp.access, ns, 'torn', 'AddressConflict');
    expect(readyOf(claim)?.message).toContain('10.96.0.2');
    expect(await get(cp.access, addressPath(ns, 'torn'))).toBeUndefined();
  });

  it('serves only the namespaces a global pool selects, and never revokes on a relabel', async () => {
    await pool('GlobalInClusterIPPool', 'tenants', {
      addresses: ['10.97.0.1-10.97.0.9'],
      prefix: 24,
      namespaceSelector: { matchLabels: { tenant: 'a' } },
    });
    const ref = { kind: 'GlobalInClusterIPPool', name: 'tenants' };
    await createClaim(cp.access, tenantA, 'in-a', ref);
    expect(await waitForAddress(cp.access, tenantA, 'in-a')).toBe('10.97.0.1');
    await createClaim(cp.access, tenantB, 'in-b', ref);
    const refused = await waitForReason(cp.access, tenantB, 'in-b', 'NamespaceNotAllowed');
    expect(refused.metadata.finalizers ?? []).not.toContain('ipam.cluster.x-k8s.io/ReleaseAddress');
    // Relabelled: tenant-b is now selected (no restart), tenant-a no longer.
    const relabel = (name: string, tenant: string) =>
      cp.access.request(
        'PATCH',
        `/api/v1/namespaces/${name}`,
        { metadata: { labels: { tenant } } },
        { contentType: 'application/merge-patch+json' },
      );
    expect((await relabel(tenantB, 'a')).status).toBe(200);
    expect(await waitForAddress(cp.access, tenantB, 'in-b')).toBe('10.97.0.2');
    expect((await relabel(tenantA, 'x')).status).toBe(200);
    await createClaim(cp.access, tenantA, 'late', ref);
    await waitForReason(cp.access, tenantA, 'late', 'NamespaceNotAllowed');
    // What tenant-a holds stays: reconciled again, it keeps its address.
    if (ctl) await touchClaim(cp.access, ctl, claimPath(tenantA, 'in-a'), 1);
    expect((await get(cp.access, addressPath(tenantA, 'in-a')))?.spec?.address).toBe('10.97.0.1');
    expect(readyOf(await get(cp.access, claimPath(tenantA, 'in-a')))?.reason).toBe('AddressAllocated');
  });

  it('hands out the highest free address under Highest, and follows a changed strategy', async () => {
    await pool('InClusterIPPool', 'top', {
      addresses: ['10.98.0.1-10.98.0.5'],
      prefix: 24,
      allocationStrategy: 'Highest',
    });
    const ref = { kind: 'InClusterIPPool', name: 'top' };
    await createClaim(cp.access, ns, 'top-1', ref);
    expect(await waitForAddress(cp.access, ns, 'top-1')).toBe('10.98.0.5');
    await createClaim(cp.access, ns, 'top-2', ref);
    expect(await waitForAddress(cp.access, ns, 'top-2')).toBe('10.98.0.4');
    const patched = await cp.access.request(
      'PATCH',
      poolPath('InClusterIPPool', ns, 'top'),
      { spec: { allocationStrategy: 'Lowest' } },
      { contentType: 'application/merge-patch+json' },
    );
    expect(patched.status).toBe(200);
    await waitFor('the controller to see the new strategy', async () =>
      ctl?.manager
        .knownPools()
        ?.some((p) => p.name === 'top' && (p.spec as ChosenSpec).allocationStrategy === 'Lowest'),
    );
    await createClaim(cp.access, ns, 'top-3', ref);
    expect(await waitForAddress(cp.access, ns, 'top-3')).toBe('10.98.0.1');
    expect((await get(cp.access, addressPath(ns, 'top-1')))?.spec?.address).toBe('10.98.0.5');
  });

  it('goes round under RoundRobin, where it left off after a restart', async () => {
    await pool('InClusterIPPool', 'round', {
      addresses: ['10.99.0.1-10.99.0.5'],
      prefix: 24,
      allocationStrategy: 'RoundRobin',
    });
    const ref = { kind: 'InClusterIPPool', name: 'round' };
    for (const [name, address] of [
      ['rr-a', '10.99.0.1'],
      ['rr-b', '10.99.0.2'],
      ['rr-c', '10.99.0.3'],
    ] as const) {
      await createClaim(cp.access, ns, name, ref);
      expect(await waitForAddress(cp.access, ns, name)).toBe(address);
    }
    expect((await cp.access.request('DELETE', claimPath(ns, 'rr-b'))).status).toBe(200);
    await waitFor('rr-b released', async () => !(await get(cp.access, addressPath(ns, 'rr-b'))));
    await waitFor('the position in the status', async () => {
      return (await poolStatus('InClusterIPPool', 'round'))?.lastAllocated === '10.99.0.3';
    });
    await restart();
    // Lowest would give the just-released 10.99.0.2; RoundRobin goes on after 10.99.0.3.
    await createClaim(cp.access, ns, 'rr-d', ref);
    expect(await waitForAddress(cp.access, ns, 'rr-d')).toBe('10.99.0.4');
    await createClaim(cp.access, ns, 'rr-e', ref);
    expect(await waitForAddress(cp.access, ns, 'rr-e')).toBe('10.99.0.5');
    await createClaim(cp.access, ns, 'rr-f', ref);
    expect(await waitForAddress(cp.access, ns, 'rr-f')).toBe('10.99.0.2');
  });

  it('spreads Random allocations over the pool', async () => {
    await pool('InClusterIPPool', 'dice', {
      addresses: ['10.100.0.0/24'],
      prefix: 24,
      allocationStrategy: 'Random',
    });
    const ref = { kind: 'InClusterIPPool', name: 'dice' };
    const names = Array.from({ length: 12 }, (_, i) => `dice-${i}`);
    await Promise.all(names.map((n) => createClaim(cp.access, ns, n, ref)));
    const got = await Promise.all(names.map((n) => waitForAddress(cp.access, ns, n)));
    expect(new Set(got).size).toBe(12);
    // The lowest twelve (10.100.0.1–12) under uniform picks from 254: about one chance in 10^20.
    const lowest = Array.from({ length: 12 }, (_, i) => `10.100.0.${i + 1}`);
    expect(got.sort()).not.toEqual(lowest.sort());
  });

  it('pins and requests prefixes in a prefix pool, refusing one of another length', async () => {
    const created = await cp.access.request(
      'POST',
      `/apis/ipam.cluster.x-k8s.io/v1alpha2/namespaces/${ns}/inclusterprefixpools`,
      {
        apiVersion: 'ipam.cluster.x-k8s.io/v1alpha2',
        kind: 'InClusterPrefixPool',
        metadata: { name: 'nets' },
        spec: {
          prefixes: ['fd10::/48'],
          allocationPrefixLength: 64,
          preAllocations: [{ claimName: 'pfx-vip', address: 'fd10:0:0:5::/64' }],
        },
      },
    );
    expect(created.status, created.text).toBe(201);
    const ref = { kind: 'InClusterPrefixPool', name: 'nets' };
    const ask = (address: string) => ({
      annotations: { 'ipam.cluster.x-k8s.io/requested-address': address },
    });
    await createClaim(cp.access, ns, 'pfx-req', ref, ask('fd10:0:0:7::/64'));
    expect(await waitForAddress(cp.access, ns, 'pfx-req')).toBe('fd10:0:0:7::');
    await createClaim(cp.access, ns, 'pfx-wide', ref, ask('fd10::/56'));
    const refused = await waitForReason(cp.access, ns, 'pfx-wide', 'AddressNotInPool');
    expect(readyOf(refused)?.message).toContain('/56');
    await createClaim(cp.access, ns, 'pfx-steal', ref, ask('fd10:0:0:5::/64'));
    const stolen = await waitForReason(cp.access, ns, 'pfx-steal', 'AddressInUse');
    expect(readyOf(stolen)?.message).toContain(`${ns}/pfx-vip`);
    await createClaim(cp.access, ns, 'pfx-plain', ref);
    expect(await waitForAddress(cp.access, ns, 'pfx-plain')).toBe('fd10::');
    await createClaim(cp.access, ns, 'pfx-vip', ref);
    expect(await waitForAddress(cp.access, ns, 'pfx-vip')).toBe('fd10:0:0:5::');
    expect((await get(cp.access, addressPath(ns, 'pfx-vip')))?.spec?.prefix).toBe(64);
  });
});
