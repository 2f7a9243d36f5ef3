import { describe, expect, it } from 'vitest';
import { choosePool, type PoolCandidate } from './service-lb-pools.js';
import {
  announcePatch,
  cleanupPatches,
  isServed,
  type LiveService,
  type ServiceObject,
  serviceClaimOwnership,
  serviceKeyOfChange,
  statusPatch,
} from './service-lb-rules.js';
import { SERVICE_LB_CONDITION } from './service-lb-slots.js';

const CLASS = 'ipam.cluster.x-k8s.io/in-cluster';

function service(over: Partial<ServiceObject> & { annotations?: Record<string, string> } = {}): LiveService {
  return {
    metadata: {
      name: 'web',
      namespace: 'a',
      uid: 'u1',
      resourceVersion: '7',
      annotations: over.annotations,
      ...over.metadata,
    },
    spec: { type: 'LoadBalancer', ...over.spec },
    status: over.status,
  } as LiveService;
}

function pool(over: Partial<PoolCandidate>): PoolCandidate {
  return {
    kind: 'InClusterIPPool',
    namespace: 'a',
    name: 'p',
    labels: { 'ipam.cluster.x-k8s.io/service-lb': 'true' },
    addresses: ['10.0.0.1-10.0.0.9'],
    namespaceSelector: undefined,
    valid: true,
    free: 9n,
    ...over,
  };
}

describe('isServed', () => {
  it('serves LoadBalancer Services of the class, and those without one only with --service-lb-default', () => {
    const opts = { className: CLASS, serveDefault: false };
    expect(isServed(service({ spec: { loadBalancerClass: CLASS } }), opts)).toBe(true);
    expect(isServed(service({ spec: { loadBalancerClass: 'other' } }), opts)).toBe(false);
    expect(isServed(service(), opts)).toBe(false);
    expect(isServed(service(), { serveDefault: true })).toBe(true);
    expect(isServed(service({ spec: { type: 'ClusterIP' } }), { serveDefault: true })).toBe(false);
    expect(isServed(undefined, { serveDefault: true })).toBe(false);
  });
});

describe('choosePool', () => {
  const ns = { team: 'a' };
  it('takes the annotation, refusing one that names no IP pool', () => {
    const named = service({ annotations: { 'ipam.cluster.x-k8s.io/pool': 'GlobalInClusterIPPool/g' } });
    expect(choosePool(named, [], ns, undefined, undefined)).toEqual({
      pool: { kind: 'GlobalInClusterIPPool', name: 'g' },
    });
    const bad = service({ annotations: { 'ipam.cluster.x-k8s.io/pool': 'InClusterPrefixPool/x' } });
    expect(choosePool(bad, [], ns, undefined, undefined)).toMatchObject({ reason: 'InvalidPoolAnnotation' });
  });

  it('takes from a named list the pool of each family, a pool not known yet for the first address only', () => {
    const pools = [pool({ name: 'v4' }), pool({ name: 'v6', addresses: ['fd00::1-fd00::9'] })];
    const both = service({
      annotations: { 'ipam.cluster.x-k8s.io/pool': 'InClusterIPPool/v4, InClusterIPPool/v6' },
    });
    expect(choosePool(both, pools, ns, undefined, 6, false)).toEqual({
      pool: { kind: 'InClusterIPPool', name: 'v6' },
    });
    expect(choosePool(both, pools, ns, undefined, 4, true)).toEqual({
      pool: { kind: 'InClusterIPPool', name: 'v4' },
    });
    const one = service({ annotations: { 'ipam.cluster.x-k8s.io/pool': 'InClusterIPPool/v4' } });
    expect(choosePool(one, pools, ns, undefined, 6, false)).toMatchObject({ reason: 'NoPoolAvailable' });
    const missing = service({ annotations: { 'ipam.cluster.x-k8s.io/pool': 'InClusterIPPool/later' } });
    expect(choosePool(missing, pools, ns, undefined, 4, true)).toEqual({
      pool: { kind: 'InClusterIPPool', name: 'later' },
    });
    expect(choosePool(missing, pools, ns, undefined, 6, false)).toMatchObject({ reason: 'NoPoolAvailable' });
    const bad = service({ annotations: { 'ipam.cluster.x-k8s.io/pool': 'InClusterIPPool/v4,oops' } });
    expect(choosePool(bad, pools, ns, undefined, 4, true)).toMatchObject({ reason: 'InvalidPoolAnnotation' });
  });

  it('takes a labelled pool of the namespace first, then global ones the selector admits, by name, with a free address', () => {
    const pools = [
      pool({ kind: 'GlobalInClusterIPPool', namespace: undefined, name: 'b-global' }),
      pool({
        kind: 'GlobalInClusterIPPool',
        namespace: undefined,
        name: 'a-global',
        namespaceSelector: { matchLabels: { team: 'b' } },
      }),
      pool({ name: 'z-local', free: 0n }),
      pool({ name: 'y-other-namespace', namespace: 'b' }),
      pool({ name: 'unlabelled', labels: {} }),
    ];
    expect(choosePool(service(), pools, ns, undefined, undefined)).toEqual({
      pool: { kind: 'GlobalInClusterIPPool', name: 'b-global' },
    });
    expect(choosePool(service(), [...pools, pool({ name: 'm-local' })], ns, undefined, undefined)).toEqual({
      pool: { kind: 'InClusterIPPool', name: 'm-local' },
    });
  });

  it('takes the pool of the Service family, and for a requested address the pool that contains it', () => {
    const pools = [pool({ name: 'v4' }), pool({ name: 'v6', addresses: ['fd00::1-fd00::9'] })];
    expect(choosePool(service({ spec: { ipFamilies: ['IPv6'] } }), pools, ns, undefined, 6)).toEqual({
      pool: { kind: 'InClusterIPPool', name: 'v6' },
    });
    const full = [pool({ name: 'full', free: 0n })];
    expect(choosePool(service(), full, ns, '10.0.0.3', undefined)).toEqual({
      pool: { kind: 'InClusterIPPool', name: 'full' },
    });
    expect(choosePool(service(), full, ns, '10.1.0.3', undefined)).toMatchObject({
      reason: 'NoPoolAvailable',
    });
    expect(choosePool(service(), full, ns, undefined, undefined)).toMatchObject({
      reason: 'NoPoolAvailable',
    });
  });
});

describe('what is written on the Service', () => {
  it('announces the address with kube-vip annotation and label, once', () => {
    const svc = service();
    expect(announcePatch(svc, ['10.0.0.1'])).toEqual({
      metadata: {
        resourceVersion: '7',
        annotations: { 'kube-vip.io/loadbalancerIPs': '10.0.0.1' },
        labels: { implementation: 'kube-vip' },
      },
    });
    const done = service({ annotations: { 'kube-vip.io/loadbalancerIPs': '10.0.0.1' } });
    done.metadata.labels = { implementation: 'kube-vip' };
    expect(announcePatch(done, ['10.0.0.1'])).toBeUndefined();
  });

  it('writes ingress and condition, and nothing when both are in place', () => {
    const condition = {
      type: SERVICE_LB_CONDITION,
      status: 'True' as const,
      reason: 'AddressAssigned',
      message: 'm',
    };
    const patch = statusPatch(service(), ['10.0.0.1'], condition) as {
      status: { loadBalancer: unknown; conditions: { type: string }[] };
    };
    expect(patch.status.loadBalancer).toEqual({ ingress: [{ ip: '10.0.0.1', ipMode: 'VIP' }] });
    expect(patch.status.conditions.map((c) => c.type)).toEqual([SERVICE_LB_CONDITION]);
    const written = service({
      status: {
        loadBalancer: { ingress: [{ ip: '10.0.0.1', ipMode: 'VIP' }] },
        conditions: [{ ...condition, lastTransitionTime: 't' }],
      },
    });
    expect(statusPatch(written, ['10.0.0.1'], condition)).toBeUndefined();
    // Dual-stack: both, in the Service's family order; one gone is written again.
    const dual = statusPatch(written, ['10.0.0.1', 'fd00::1'], condition) as {
      status: { loadBalancer: unknown };
    };
    expect(dual.status.loadBalancer).toEqual({
      ingress: [
        { ip: '10.0.0.1', ipMode: 'VIP' },
        { ip: 'fd00::1', ipMode: 'VIP' },
      ],
    });
  });

  it('takes off only what it wrote, and nothing from a Service it never wrote', () => {
    const ours = service({
      annotations: { 'kube-vip.io/loadbalancerIPs': '10.0.0.1', keep: 'x' },
      status: {
        loadBalancer: { ingress: [{ ip: '10.0.0.1', ipMode: 'VIP' }] },
        conditions: [
          {
            type: SERVICE_LB_CONDITION,
            status: 'True',
            reason: 'AddressAssigned',
            message: 'm',
            lastTransitionTime: 't',
          },
          { type: 'Other', status: 'True', reason: 'R', message: 'm', lastTransitionTime: 't' },
        ],
      },
    });
    ours.metadata.labels = { implementation: 'kube-vip' };
    const { metadata, status } = cleanupPatches(ours);
    expect(status).toEqual({
      metadata: { resourceVersion: '7' },
      status: {
        conditions: [{ type: 'Other', status: 'True', reason: 'R', message: 'm', lastTransitionTime: 't' }],
        loadBalancer: { ingress: null },
      },
    });
    expect(metadata).toEqual({
      metadata: {
        resourceVersion: '7',
        annotations: { 'kube-vip.io/loadbalancerIPs': null },
        labels: { implementation: null },
      },
    });
    expect(cleanupPatches(service({ annotations: { 'kube-vip.io/loadbalancerIPs': '10.0.0.1' } }))).toEqual(
      {},
    );
  });
});

describe('claims and keys', () => {
  it('knows its own claim by label and owner uid', () => {
    const svc = service();
    const own = { shared: undefined };
    const claim = (uid: string) => ({
      metadata: {
        labels: { 'ipam.cluster.x-k8s.io/service-lb-of': 'web' },
        ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid }],
      },
    });
    expect(serviceClaimOwnership(claim('u1'), svc, own)).toBe('this');
    expect(serviceClaimOwnership(claim('u0'), svc, own)).toBe('earlier');
    expect(serviceClaimOwnership({ metadata: {} }, svc, own)).toBe('none');
  });

  it("knows its key's shared claim by label and annotation, and whether it owns it already", () => {
    const svc = service();
    const slot = { shared: { key: 'Web Front', label: 'web-front-0123456789' } };
    const claim = (key: string, uid: string) => ({
      metadata: {
        labels: { 'ipam.cluster.x-k8s.io/service-lb-shared-key': 'web-front-0123456789' },
        annotations: { 'ipam.cluster.x-k8s.io/shared-ip-key': key },
        ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: 'other', uid }],
      },
    });
    expect(serviceClaimOwnership(claim('Web Front', 'u9'), svc, slot)).toBe('group');
    expect(serviceClaimOwnership(claim('Web Front', 'u1'), svc, slot)).toBe('this');
    // The same label from another key (a hash collision, or a hand-made claim): not ours.
    expect(serviceClaimOwnership(claim('web front', 'u9'), svc, slot)).toBe('none');
  });

  it('queues served Services, those it wrote on and those with a claim', () => {
    const opts = { className: CLASS, serveDefault: false };
    expect(
      serviceKeyOfChange(undefined, service({ spec: { loadBalancerClass: CLASS } }), opts, () => false),
    ).toBe('a/web');
    expect(serviceKeyOfChange(undefined, service(), opts, () => false)).toBeUndefined();
    expect(serviceKeyOfChange(service(), undefined, opts, () => true)).toBe('a/web');
  });
});
