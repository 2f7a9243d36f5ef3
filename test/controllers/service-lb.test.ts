/**
 * Load-balancer addresses for Services, against the real API server with kube-controller-manager's
 * garbage collector: a served Service gets one claim of its own, its address goes into its status
 * and kube-vip's annotation, and a Service no longer served gives it back and is cleaned.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
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
  startControlPlane,
  waitForAddress,
} from './fixture.js';
import {
  assignedAddress,
  conditionOf,
  createService,
  getService,
  LB_CLASS,
  POOL_ANNOTATION,
  type RunningServiceLb,
  SERVICE_LB_POOL_LABEL,
  serviceActions,
  serviceClaims,
  servicePath,
  startServiceLb,
} from './service-lb-fixture.js';

const NS = 'lb-a';
const OTHER_NS = 'lb-b';
const LB = { [SERVICE_LB_POOL_LABEL]: 'true' };

describe('load-balancer addresses of Services', () => {
  let cp: ControlPlane;
  let ctl: RunningServiceLb | undefined;

  beforeAll(async () => {
    cp = await startControlPlane();
    for (const [name, team] of [
      [NS, 'a'],
      [OTHER_NS, 'c'],
    ] as const) {
      const res = await cp.access.request('POST', '/api/v1/namespaces', {
        metadata: { name, labels: { team } },
      });
      expect(res.status).toBe(201);
    }
    await createNamespace(cp.access, 'lb-off');
    await createPool(
      cp.access,
      'InClusterIPPool',
      NS,
      'local',
      { addresses: ['10.90.0.10-10.90.0.11'], prefix: 24 },
      { labels: LB },
    );
    // Sorted before "shared", but its selector does not admit team a.
    await createPool(
      cp.access,
      'GlobalInClusterIPPool',
      '',
      'aaa-other',
      {
        addresses: ['10.92.0.10-10.92.0.19'],
        prefix: 24,
        namespaceSelector: { matchLabels: { team: 'b' } },
      } as never,
      { labels: LB },
    );
    await createPool(
      cp.access,
      'GlobalInClusterIPPool',
      '',
      'shared',
      {
        addresses: ['10.91.0.10-10.91.0.19'],
        prefix: 24,
        namespaceSelector: { matchLabels: { team: 'a' } },
      } as never,
      { labels: LB },
    );
    await createPool(cp.access, 'InClusterIPPool', NS, 'named', {
      addresses: ['10.93.0.10-10.93.0.19'],
      prefix: 24,
    });
  });
  afterEach(async () => {
    await ctl?.stop();
    ctl = undefined;
  });
  afterAll(async () => {
    await cp?.stop();
  });

  const assigned = (name: string, ns = NS) =>
    waitFor(`Service ${ns}/${name} assigned`, () => assignedAddress(cp.access, ns, name), {
      timeoutMs: 30_000,
    });

  it('gives a Service of the class its address: claim, status, kube-vip annotation and label, condition, Events', async () => {
    ctl = await startServiceLb(cp, { className: LB_CLASS, serveDefault: false });
    await createService(cp.access, NS, 'web', { loadBalancerClass: LB_CLASS });
    expect(await assigned('web')).toBe('10.90.0.10');
    const svc = await getService(cp.access, NS, 'web');
    expect(svc?.status?.loadBalancer?.ingress).toEqual([{ ip: '10.90.0.10', ipMode: 'VIP' }]);
    expect(svc?.metadata.annotations?.['kube-vip.io/loadbalancerIPs']).toBe('10.90.0.10');
    expect(svc?.metadata.labels?.implementation).toBe('kube-vip');
    expect(conditionOf(svc)).toMatchObject({ status: 'True', reason: 'AddressAssigned' });
    const claims = await serviceClaims(cp.access, NS, 'web');
    expect(claims.map((c) => c.metadata.name)).toEqual(['web.service-lb']);
    expect(claims[0]?.metadata.ownerReferences).toEqual([
      { apiVersion: 'v1', kind: 'Service', name: 'web', uid: svc?.metadata.uid, controller: true },
    ]);
    expect(claims[0]?.spec?.poolRef).toMatchObject({ kind: 'InClusterIPPool', name: 'local' });
    await waitFor('the Events on the Service', async () =>
      (await eventCount(cp.access, NS, 'web', 'LoadBalancerAddressClaimed')) > 0 &&
      (await eventCount(cp.access, NS, 'web', 'LoadBalancerAddressAssigned')) > 0
        ? true
        : undefined,
    );
    expect(await serviceActions(ctl, 'assigned')).toBe(1);
  });

  it('takes a labelled pool of the namespace first, then global pools whose selector admits it, by name', async () => {
    ctl = await startServiceLb(cp, { className: LB_CLASS, serveDefault: false });
    await createService(cp.access, NS, 'second', { loadBalancerClass: LB_CLASS });
    expect(await assigned('second')).toBe('10.90.0.11');
    // "local" is full now; "aaa-other" selects team b only.
    await createService(cp.access, NS, 'third', { loadBalancerClass: LB_CLASS });
    expect(await assigned('third')).toBe('10.91.0.10');
    // No labelled pool admits namespace lb-b (team c): no claim, and the condition says why.
    await createService(cp.access, OTHER_NS, 'nowhere', { loadBalancerClass: LB_CLASS });
    const svc = await waitFor('the refusal on the Service', async () => {
      const s = await getService(cp.access, OTHER_NS, 'nowhere');
      return conditionOf(s)?.reason === 'NoPoolAvailable' ? s : undefined;
    });
    expect(conditionOf(svc)?.status).toBe('False');
    expect(svc.status?.loadBalancer?.ingress ?? []).toEqual([]);
    expect(await serviceClaims(cp.access, OTHER_NS, 'nowhere')).toEqual([]);
    // A pool made for it wakes it at once, not at the next retry.
    await createPool(
      cp.access,
      'InClusterIPPool',
      OTHER_NS,
      'late',
      { addresses: ['10.94.0.10-10.94.0.19'], prefix: 24 },
      { labels: LB },
    );
    const late = await waitFor('the late pool used', () => assignedAddress(cp.access, OTHER_NS, 'nowhere'), {
      timeoutMs: 8_000,
    });
    expect(late).toBe('10.94.0.10');
  });

  it('takes the pool the annotation names, and the address spec.loadBalancerIP pins', async () => {
    ctl = await startServiceLb(cp, { className: LB_CLASS, serveDefault: false });
    await createService(cp.access, NS, 'named', {
      loadBalancerClass: LB_CLASS,
      annotations: { [POOL_ANNOTATION]: 'InClusterIPPool/named' },
    });
    expect(await assigned('named')).toBe('10.93.0.10');
    await createService(cp.access, NS, 'pinned', {
      loadBalancerClass: LB_CLASS,
      loadBalancerIP: '10.91.0.15',
    });
    expect(await assigned('pinned')).toBe('10.91.0.15');
    const [claim] = await serviceClaims(cp.access, NS, 'pinned');
    expect(claim?.spec?.poolRef).toMatchObject({ kind: 'GlobalInClusterIPPool', name: 'shared' });
  });

  it('gives a pinned address held by another Service to nobody else, and says why', async () => {
    ctl = await startServiceLb(cp, { className: LB_CLASS, serveDefault: false });
    await createService(cp.access, NS, 'holder', {
      loadBalancerClass: LB_CLASS,
      loadBalancerIP: '10.91.0.17',
    });
    expect(await assigned('holder')).toBe('10.91.0.17');
    await createService(cp.access, NS, 'thief', {
      loadBalancerClass: LB_CLASS,
      annotations: { 'metallb.io/loadBalancerIPs': '10.91.0.17' },
    });
    const svc = await waitFor('the refusal on the Service', async () => {
      const s = await getService(cp.access, NS, 'thief');
      return conditionOf(s)?.reason === 'AddressInUse' ? s : undefined;
    });
    expect(conditionOf(svc)?.status).toBe('False');
    expect(conditionOf(svc)?.message).toContain('thief.service-lb');
    expect(svc.status?.loadBalancer?.ingress ?? []).toEqual([]);
    expect(await assignedAddress(cp.access, NS, 'holder')).toBe('10.91.0.17');
  });

  it('releases the address of a Service switched to ClusterIP and takes off what it wrote', async () => {
    ctl = await startServiceLb(cp, { className: LB_CLASS, serveDefault: false });
    await createService(cp.access, NS, 'switch', {
      loadBalancerClass: LB_CLASS,
      loadBalancerIP: '10.91.0.18',
    });
    expect(await assigned('switch')).toBe('10.91.0.18');
    const res = await cp.access.request(
      'PATCH',
      servicePath(NS, 'switch'),
      { spec: { type: 'ClusterIP', loadBalancerClass: null } },
      { contentType: 'application/merge-patch+json' },
    );
    expect(res.status, res.text).toBe(200);
    const svc = await waitFor('the Service cleaned', async () => {
      const s = await getService(cp.access, NS, 'switch');
      return s && !conditionOf(s) && !s.metadata.annotations?.['kube-vip.io/loadbalancerIPs'] ? s : undefined;
    });
    expect(svc.metadata.labels?.implementation).toBeUndefined();
    expect(svc.status?.loadBalancer?.ingress ?? []).toEqual([]);
    await waitFor('the claim and its IPAddress gone', async () => {
      const claim = await get(cp.access, claimPath(NS, 'switch.service-lb'));
      const address = await get(cp.access, addressPath(NS, 'switch.service-lb'));
      return claim === undefined && address === undefined;
    });
    expect(await serviceActions(ctl, 'released')).toBe(1);
    expect(await eventCount(cp.access, NS, 'switch', 'LoadBalancerAddressReleased')).toBeGreaterThan(0);
  });

  it('releases the address of a deleted Service', async () => {
    ctl = await startServiceLb(cp, { className: LB_CLASS, serveDefault: false });
    await createService(cp.access, NS, 'gone', { loadBalancerClass: LB_CLASS, loadBalancerIP: '10.91.0.19' });
    expect(await assigned('gone')).toBe('10.91.0.19');
    expect((await cp.access.request('DELETE', servicePath(NS, 'gone'))).status).toBe(200);
    await waitFor('the claim and its IPAddress gone', async () => {
      const claim = await get(cp.access, claimPath(NS, 'gone.service-lb'));
      const address = await get(cp.access, addressPath(NS, 'gone.service-lb'));
      return claim === undefined && address === undefined;
    });
  });

  it('keeps the address kube-vip-cloud-provider wrote on a Service, through a restart', async () => {
    await createService(cp.access, NS, 'adopted', {
      loadBalancerClass: LB_CLASS,
      annotations: { 'kube-vip.io/loadbalancerIPs': '10.91.0.16' },
    });
    const res = await cp.access.request(
      'PATCH',
      `${servicePath(NS, 'adopted')}/status`,
      { status: { loadBalancer: { ingress: [{ ip: '10.91.0.16' }] } } },
      { contentType: 'application/merge-patch+json' },
    );
    expect(res.status, res.text).toBe(200);
    ctl = await startServiceLb(cp, { className: LB_CLASS, serveDefault: false });
    expect(await assigned('adopted')).toBe('10.91.0.16');
    const [claim] = await serviceClaims(cp.access, NS, 'adopted');
    const before = await getService(cp.access, NS, 'adopted');
    expect(before?.status?.loadBalancer?.ingress).toEqual([{ ip: '10.91.0.16', ipMode: 'VIP' }]);
    await ctl.stop();
    ctl = await startServiceLb(cp, { className: LB_CLASS, serveDefault: false });
    // The restarted controller has looked at the Service (and its claim) once: nothing moved.
    const restarted = ctl;
    await waitFor('the restarted controller to reconcile the Service', async () =>
      (await restarted.metrics.reconciles.get()).values.some(
        (v) => v.labels.controller === 'servicelb' && v.value > 0,
      ),
    );
    const uid = (c: { metadata: object } | undefined) => (c?.metadata as { uid?: string } | undefined)?.uid;
    const after = await serviceClaims(cp.access, NS, 'adopted');
    expect(after.map(uid)).toEqual([uid(claim)]);
    expect((await getService(cp.access, NS, 'adopted'))?.metadata.resourceVersion).toBe(
      before?.metadata.resourceVersion,
    );
  });

  it('with --namespace serves the Services of that namespace only', async () => {
    ctl = await startServiceLb(cp, { className: LB_CLASS, serveDefault: false }, OTHER_NS);
    await createService(cp.access, NS, 'elsewhere', { loadBalancerClass: LB_CLASS });
    await createService(cp.access, OTHER_NS, 'here', { loadBalancerClass: LB_CLASS });
    expect(await assigned('here', OTHER_NS)).toMatch(/^10\.94\.0\./);
    expect(await serviceClaims(cp.access, NS, 'elsewhere')).toEqual([]);
    expect(conditionOf(await getService(cp.access, NS, 'elsewhere'))).toBeUndefined();
  });

  it('chooses again when the labelled pool it chose ran out before its claim got an address', async () => {
    const ns = 'lb-race';
    const res = await cp.access.request('POST', '/api/v1/namespaces', {
      metadata: { name: ns, labels: { team: 'a' } },
    });
    expect(res.status).toBe(201);
    await createPool(
      cp.access,
      'InClusterIPPool',
      ns,
      'tiny',
      { addresses: ['10.94.0.10'], prefix: 24 },
      { labels: LB },
    );
    // All there before the controller starts: each sees the one free address when it chooses.
    const names = ['r1', 'r2', 'r3', 'r4'];
    for (const name of names) await createService(cp.access, ns, name, { loadBalancerClass: LB_CLASS });
    ctl = await startServiceLb(cp, { className: LB_CLASS, serveDefault: false });
    const addresses = await Promise.all(names.map((name) => assigned(name, ns)));
    expect(addresses.filter((a) => a === '10.94.0.10')).toHaveLength(1);
    expect(addresses.filter((a) => a.startsWith('10.91.0.'))).toHaveLength(3);
  });

  it('serves Services without a class only with --service-lb-default, and none without the flags', async () => {
    await createService(cp.access, NS, 'classless');
    ctl = await startServiceLb(cp, { className: LB_CLASS, serveDefault: false });
    expect(ctl.manager.serviceLoadBalancers).toBeDefined();
    await createService(cp.access, NS, 'other-class', { loadBalancerClass: 'example.com/other' });
    await ctl.stop();
    ctl = await startServiceLb(cp, undefined);
    expect(ctl.manager.serviceLoadBalancers).toBeUndefined();
    // A machine's claim made now is served: the controller is running and has seen past the Services.
    await createClaim(cp.access, NS, 'after-flags', { kind: 'InClusterIPPool', name: 'named' });
    await waitForAddress(cp.access, NS, 'after-flags');
    expect(await serviceClaims(cp.access, NS, 'classless')).toEqual([]);
    expect(await serviceClaims(cp.access, NS, 'other-class')).toEqual([]);
    // Without the flags nothing is released either: the Services served before keep their claims.
    expect(await serviceClaims(cp.access, NS, 'web')).toHaveLength(1);
    await ctl.stop();
    ctl = await startServiceLb(cp, { serveDefault: true });
    expect(await assigned('classless')).toMatch(/^10\.91\.0\./);
    expect(await serviceClaims(cp.access, NS, 'other-class')).toEqual([]);
  });
});
