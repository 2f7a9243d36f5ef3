/**
 * Dual-stack Services and pins, against the real API server (its Service range is dual-stack):
 * one address per spec.ipFamilies entry; PreferDualStack takes what the pools give,
 * RequireDualStack writes nothing until it has both; a pin per family; a pin changed on a bound
 * Service keeps the address and says so.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlane } from '../harness/control-plane.js';
import { waitFor } from '../harness/wait.js';
import { claimPath, createNamespace, createPool, eventCount, get, startControlPlane } from './fixture.js';
import {
  assignedAddresses,
  createService,
  getService,
  LB_CLASS,
  type RunningServiceLb,
  SERVICE_LB_POOL_LABEL,
  servicePath,
  startServiceLb,
  waitForServiceReason,
} from './service-lb-fixture.js';

const NS = 'dual';
const LB = { labels: { [SERVICE_LB_POOL_LABEL]: 'true' } };
const DUAL = { ipFamilies: ['IPv4', 'IPv6'] };

describe('dual-stack load-balancer addresses', () => {
  let cp: ControlPlane;
  let ctl: RunningServiceLb | undefined;

  beforeAll(async () => {
    cp = await startControlPlane();
    await createNamespace(cp.access, NS);
    await createPool(
      cp.access,
      'InClusterIPPool',
      NS,
      'v4',
      { addresses: ['10.70.0.10-10.70.0.19'], prefix: 24 },
      LB,
    );
  });
  afterEach(async () => {
    await ctl?.stop();
    ctl = undefined;
  });
  afterAll(async () => {
    await cp?.stop();
  });

  const start = async () => {
    ctl = await startServiceLb(cp, { className: LB_CLASS, serveDefault: false });
  };
  const service = (name: string, spec: Record<string, unknown>, annotations?: Record<string, string>) =>
    createService(cp.access, NS, name, {
      loadBalancerClass: LB_CLASS,
      spec,
      ...(annotations ? { annotations } : {}),
    });
  const addressesOf = (name: string, count: number) =>
    waitFor(`Service ${name} with ${count} addresses`, async () => {
      const ips = await assignedAddresses(cp.access, NS, name);
      return ips?.length === count ? ips : undefined;
    });

  it('PreferDualStack takes the IPv4 address while no pool has IPv6; RequireDualStack writes none, then both', async () => {
    await start();
    await service('prefer', { ...DUAL, ipFamilyPolicy: 'PreferDualStack' });
    await service('require', { ...DUAL, ipFamilyPolicy: 'RequireDualStack' });
    const [v4] = await addressesOf('prefer', 1);
    expect(v4).toMatch(/^10\.70\.0\./);
    const svc = await getService(cp.access, NS, 'prefer');
    expect(svc?.status?.conditions?.find((c) => c.reason === 'AddressAssigned')?.message).toContain(
      'no IPv6 address',
    );
    const refused = await waitForServiceReason(cp.access, NS, 'require', 'NoPoolAvailable');
    expect(refused.message).toContain('RequireDualStack');
    expect(refused.svc.status?.loadBalancer?.ingress ?? []).toEqual([]);
    // Its IPv4 address is claimed meanwhile, and kept: the IPv6 pool completes it.
    await createPool(
      cp.access,
      'InClusterIPPool',
      NS,
      'v6',
      { addresses: ['fd00:70::10-fd00:70::19'], prefix: 64 },
      LB,
    );
    const both = await addressesOf('require', 2);
    expect(both[0]).toMatch(/^10\.70\.0\./);
    expect(both[1]).toMatch(/^fd00:70::/);
    const announced = (await getService(cp.access, NS, 'require'))?.metadata.annotations?.[
      'kube-vip.io/loadbalancerIPs'
    ];
    expect(announced).toBe(both.join(','));
    expect(await get(cp.access, claimPath(NS, 'require.service-lb'))).toBeDefined();
    expect(await get(cp.access, claimPath(NS, 'require.service-lb-ipv6'))).toBeDefined();
    // PreferDualStack takes its IPv6 address too, once a pool has one.
    const preferBoth = await addressesOf('prefer', 2);
    expect(preferBoth[0]).toBe(v4);
  });

  it('takes the IPv6 family first when the Service lists it first, and a pin per family', async () => {
    await start();
    await service(
      'v6-first',
      { ipFamilies: ['IPv6', 'IPv4'], ipFamilyPolicy: 'RequireDualStack' },
      {
        'metallb.io/loadBalancerIPs': '10.70.0.18,fd00:70::18',
      },
    );
    expect(await addressesOf('v6-first', 2)).toEqual(['fd00:70::18', '10.70.0.18']);
  });

  it('takes each family from the pool the annotation names for it, never two of one family', async () => {
    await start();
    const annotation = 'ipam.cluster.x-k8s.io/pool';
    await service(
      'named-both',
      { ...DUAL, ipFamilyPolicy: 'RequireDualStack' },
      {
        [annotation]: 'InClusterIPPool/v4,InClusterIPPool/v6',
      },
    );
    const both = await addressesOf('named-both', 2);
    expect(both[0]).toMatch(/^10\.70\.0\./);
    expect(both[1]).toMatch(/^fd00:70::/);
    // One IPv4 pool named: the IPv4 address, and no IPv6 one (not a second IPv4 address).
    await service(
      'named-one',
      { ...DUAL, ipFamilyPolicy: 'PreferDualStack' },
      { [annotation]: 'InClusterIPPool/v4' },
    );
    const [only] = await addressesOf('named-one', 1);
    expect(only).toMatch(/^10\.70\.0\./);
    const svc = await getService(cp.access, NS, 'named-one');
    expect(svc?.status?.conditions?.find((c) => c.reason === 'AddressAssigned')?.message).toContain(
      'names no IPv6 pool',
    );
    expect(await get(cp.access, claimPath(NS, 'named-one.service-lb-ipv6'))).toBeUndefined();
  });

  it('gives up the second family when the Service goes single-stack', async () => {
    await start();
    await service('shrink', { ...DUAL, ipFamilyPolicy: 'PreferDualStack' });
    const [v4] = await addressesOf('shrink', 2);
    const res = await cp.access.request(
      'PATCH',
      servicePath(NS, 'shrink'),
      { spec: { ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv4'] } },
      { contentType: 'application/merge-patch+json' },
    );
    expect(res.status, res.text).toBe(200);
    expect(await addressesOf('shrink', 1)).toEqual([v4]);
    await waitFor(
      'the IPv6 claim gone',
      async () => (await get(cp.access, claimPath(NS, 'shrink.service-lb-ipv6'))) === undefined,
    );
  });

  it('keeps a bound address when its pin changes, and warns once', async () => {
    await start();
    await service('moved', {}, { 'lbipam.cilium.io/ips': '10.70.0.17' });
    expect(await addressesOf('moved', 1)).toEqual(['10.70.0.17']);
    const res = await cp.access.request(
      'PATCH',
      servicePath(NS, 'moved'),
      { spec: { loadBalancerIP: '10.70.0.16' }, metadata: { annotations: { 'lbipam.cilium.io/ips': null } } },
      { contentType: 'application/merge-patch+json' },
    );
    expect(res.status, res.text).toBe(200);
    await waitFor(
      'a RequestedAddressIgnored event',
      async () => (await eventCount(cp.access, NS, 'moved', 'RequestedAddressIgnored')) === 1,
    );
    expect(await assignedAddresses(cp.access, NS, 'moved')).toEqual(['10.70.0.17']);
  });
});
