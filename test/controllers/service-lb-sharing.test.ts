/**
 * Shared load-balancer addresses, against the real API server with kube-controller-manager's
 * garbage collector: Services of one namespace with one sharing key get one address when their
 * ports are disjoint, pins agree and (under externalTrafficPolicy Local) selectors are equal; the
 * later one of a clash waits, the one already serving keeps it; the address goes with the last.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlane } from '../harness/control-plane.js';
import { waitFor } from '../harness/wait.js';
import {
  addressPath,
  claimPath,
  claimsLabelled,
  createNamespace,
  createPool,
  eventCount,
  get,
  startControlPlane,
} from './fixture.js';
import {
  assignedAddress,
  createService,
  getService,
  LB_CLASS,
  type RunningServiceLb,
  SERVICE_LB_POOL_LABEL,
  servicePath,
  startServiceLb,
  waitForServiceReason,
} from './service-lb-fixture.js';

const NS = 'share';
const KEY = 'ipam.cluster.x-k8s.io/shared-ip-key';
const SHARED_LABEL = 'ipam.cluster.x-k8s.io/service-lb-shared-key';

const ports = (...list: [number, string][]) => ({
  ports: list.map(([port, protocol]) => ({ name: `p${port}-${protocol.toLowerCase()}`, port, protocol })),
});

describe('Services sharing one load-balancer address', () => {
  let cp: ControlPlane;
  let ctl: RunningServiceLb | undefined;

  beforeAll(async () => {
    cp = await startControlPlane();
    await createNamespace(cp.access, NS);
    await createPool(
      cp.access,
      'InClusterIPPool',
      NS,
      'vips',
      { addresses: ['10.80.0.10-10.80.0.29'], prefix: 24 },
      { labels: { [SERVICE_LB_POOL_LABEL]: 'true' } },
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
  const service = (name: string, annotations: Record<string, string>, spec: Record<string, unknown>) =>
    createService(cp.access, NS, name, { loadBalancerClass: LB_CLASS, annotations, spec });
  const assigned = (name: string) =>
    waitFor(`Service ${name} assigned`, () => assignedAddress(cp.access, NS, name), { timeoutMs: 30_000 });
  const sharedClaims = (label: string) => claimsLabelled(cp.access, NS, SHARED_LABEL, label);
  const remove = async (name: string) => {
    expect((await cp.access.request('DELETE', servicePath(NS, name))).status).toBe(200);
  };

  it('gives two Services with one key and disjoint ports one address, through one claim both own', async () => {
    await start();
    await service('web-http', { [KEY]: 'web' }, ports([80, 'TCP']));
    await service('web-https', { [KEY]: 'web' }, ports([443, 'TCP'], [443, 'UDP']));
    const address = await assigned('web-http');
    expect(await assigned('web-https')).toBe(address);
    const [claim, ...more] = await sharedClaims('web');
    expect(more).toEqual([]);
    expect(claim?.metadata.name).toBe('web.service-lb-shared-ipv4');
    const owners = (
      claim?.metadata as { ownerReferences?: { name: string; controller?: boolean }[] } | undefined
    )?.ownerReferences;
    expect(owners?.map((o) => o.name).sort()).toEqual(['web-http', 'web-https']);
    expect(owners?.some((o) => o.controller)).toBe(false);
    // One IPAddress for both.
    const ipAddress = await get(cp.access, addressPath(NS, 'web.service-lb-shared-ipv4'));
    expect((ipAddress?.spec as { address?: string })?.address).toBe(address);
    // A third naming another pool cannot share the group's address, which is in the first's pool.
    await service(
      'web-elsewhere',
      { [KEY]: 'web', 'ipam.cluster.x-k8s.io/pool': 'InClusterIPPool/elsewhere' },
      ports([8080, 'TCP']),
    );
    const refused = await waitForServiceReason(cp.access, NS, 'web-elsewhere', 'SharingConflict');
    expect(refused.message).toContain('from InClusterIPPool vips');
    expect(await assignedAddress(cp.access, NS, 'web-http')).toBe(address);
  });

  it('leaves the later Service of a port clash without an address, naming the first, which is unchanged', async () => {
    await start();
    await service('api', { [KEY]: 'api' }, ports([8080, 'TCP']));
    const address = await assigned('api');
    await service('api-copy', { 'metallb.io/allow-shared-ip': 'api' }, ports([8080, 'TCP'], [9090, 'TCP']));
    const refused = await waitForServiceReason(cp.access, NS, 'api-copy', 'SharingConflict');
    expect(refused.status).toBe('False');
    expect(refused.message).toContain('Service api');
    expect(refused.message).toContain('8080/TCP');
    expect(refused.svc.status?.loadBalancer?.ingress ?? []).toEqual([]);
    await waitFor(
      'a SharingConflict event',
      async () => (await eventCount(cp.access, NS, 'api-copy', 'SharingConflict')) > 0,
    );
    expect(await assignedAddress(cp.access, NS, 'api')).toBe(address);
    // The clash resolved (the later one changes its port): it shares the same address.
    const res = await cp.access.request(
      'PATCH',
      servicePath(NS, 'api-copy'),
      { spec: ports([9090, 'TCP']) },
      {
        contentType: 'application/merge-patch+json',
      },
    );
    expect(res.status).toBe(200);
    expect(await assigned('api-copy')).toBe(address);
  });

  it('assigns none while the pins disagree, and the agreed address once they agree', async () => {
    // Both exist before the controller looks: neither holds the address yet (AKO's case).
    await service('pin-a', { [KEY]: 'pins' }, { loadBalancerIP: '10.80.0.25', ...ports([80, 'TCP']) });
    await service('pin-b', { [KEY]: 'pins', 'lbipam.cilium.io/ips': '10.80.0.26' }, ports([81, 'TCP']));
    await start();
    for (const name of ['pin-a', 'pin-b']) {
      const refused = await waitForServiceReason(cp.access, NS, name, 'SharingConflict');
      expect(refused.message).toContain('pin-a: 10.80.0.25, pin-b: 10.80.0.26');
    }
    expect(await sharedClaims('pins')).toEqual([]);
    const res = await cp.access.request(
      'PATCH',
      servicePath(NS, 'pin-b'),
      { metadata: { annotations: { 'lbipam.cilium.io/ips': '10.80.0.25' } } },
      { contentType: 'application/merge-patch+json' },
    );
    expect(res.status).toBe(200);
    expect(await assigned('pin-a')).toBe('10.80.0.25');
    expect(await assigned('pin-b')).toBe('10.80.0.25');
  });

  it('needs the same Pods behind Services with externalTrafficPolicy Local', async () => {
    await start();
    const local = { externalTrafficPolicy: 'Local', selector: { app: 'one' } };
    await service('local-a', { [KEY]: 'local' }, { ...local, ...ports([80, 'TCP']) });
    const address = await assigned('local-a');
    await service(
      'local-b',
      { [KEY]: 'local' },
      { ...local, selector: { app: 'two' }, ...ports([443, 'TCP']) },
    );
    const refused = await waitForServiceReason(cp.access, NS, 'local-b', 'SharingConflict');
    expect(refused.message).toContain('externalTrafficPolicy Local');
    await service('local-c', { [KEY]: 'local' }, { ...local, ...ports([8443, 'TCP']) });
    expect(await assigned('local-c')).toBe(address);
  });

  it('keeps the address of the others as sharers come and go, and releases it with the last', async () => {
    await start();
    await service('s1', { [KEY]: 'come-go' }, ports([1, 'TCP']));
    const address = await assigned('s1');
    await service('s2', { 'ako.vmware.com/enable-shared-vip': 'come-go' }, ports([2, 'TCP']));
    expect(await assigned('s2')).toBe(address);
    await remove('s1');
    await waitFor('s1 gone from the claim', async () => {
      const [claim] = await sharedClaims('come-go');
      const owners = (claim?.metadata as { ownerReferences?: { name: string }[] } | undefined)
        ?.ownerReferences;
      return owners?.length === 1 && owners[0]?.name === 's2';
    });
    await service('s3', { [KEY]: 'come-go' }, ports([3, 'TCP']));
    expect(await assigned('s3')).toBe(address);
    expect(await assignedAddress(cp.access, NS, 's2')).toBe(address);
    // A sharer switched to ClusterIP leaves it to the other, and what we wrote on it goes.
    const res = await cp.access.request(
      'PATCH',
      servicePath(NS, 's3'),
      { spec: { type: 'ClusterIP', loadBalancerClass: null } },
      { contentType: 'application/merge-patch+json' },
    );
    expect(res.status).toBe(200);
    await waitFor('s3 cleaned', async () => {
      const s3 = await getService(cp.access, NS, 's3');
      return (
        s3 && !s3.metadata.annotations?.['kube-vip.io/loadbalancerIPs'] && !s3.status?.loadBalancer?.ingress
      );
    });
    expect(await assignedAddress(cp.access, NS, 's2')).toBe(address);
    await remove('s2');
    await waitFor('the shared claim and its IPAddress gone', async () => {
      const claim = await get(cp.access, claimPath(NS, 'come-go.service-lb-shared-ipv4'));
      const ip = await get(cp.access, addressPath(NS, 'come-go.service-lb-shared-ipv4'));
      return claim === undefined && ip === undefined;
    });
  });
});
