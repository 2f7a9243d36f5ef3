import { describe, expect, it } from 'vitest';
import {
  announcePatch,
  choosePool,
  cleanupPatches,
  isServed,
  type LiveService,
  type PoolCandidate,
  requestedServiceAddress,
  SERVICE_LB_CONDITION,
  type ServiceObject,
  serviceClaimOwnership,
  serviceKeyOfChange,
  statusPatch,
} from './service-lb-rules.js';

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

describe('requestedServiceAddress', () => {
  it('reads spec.loadBalancerIP and the pinning annotations, the entry of the Service family from a list', () => {
    expect(requestedServiceAddress(service({ spec: { loadBalancerIP: '10.0.0.5' } }))).toBe('10.0.0.5');
    expect(requestedServiceAddress(service({ annotations: { 'lbipam.cilium.io/ips': '10.0.0.6' } }))).toBe(
      '10.0.0.6',
    );
    const dual = service({
      annotations: { 'metallb.io/loadBalancerIPs': '10.0.0.7, fd00::7' },
      spec: { ipFamilies: ['IPv6', 'IPv4'] },
    });
    expect(requestedServiceAddress(dual)).toBe('fd00::7');
    expect(requestedServiceAddress(service())).toBeUndefined();
  });

  it('refuses pins that disagree, and takes pins that agree', () => {
    const agree = service({
      spec: { loadBalancerIP: '10.0.0.5' },
      annotations: { 'kube-vip.io/loadbalancerIPs': '10.0.0.5' },
    });
    expect(requestedServiceAddress(agree)).toBe('10.0.0.5');
    const disagree = service({
      spec: { loadBalancerIP: '10.0.0.5' },
      annotations: { 'metallb.universe.tf/loadBalancerIPs': '10.0.0.6' },
    });
    expect(requestedServiceAddress(disagree)).toMatchObject({ reason: 'ConflictingRequestedAddresses' });
  });

  it('adopts the address the Service carries in status.loadBalancer.ingress when nothing pins one', () => {
    const carried = service({ status: { loadBalancer: { ingress: [{ ip: '10.0.0.8' }] } } });
    expect(requestedServiceAddress(carried)).toBe('10.0.0.8');
  });
});

describe('choosePool', () => {
  const ns = { team: 'a' };
  it('takes the annotation, refusing one that names no IP pool', () => {
    const named = service({ annotations: { 'ipam.cluster.x-k8s.io/pool': 'GlobalInClusterIPPool/g' } });
    expect(choosePool(named, [], ns, undefined)).toEqual({
      pool: { kind: 'GlobalInClusterIPPool', name: 'g' },
    });
    const bad = service({ annotations: { 'ipam.cluster.x-k8s.io/pool': 'InClusterPrefixPool/x' } });
    expect(choosePool(bad, [], ns, undefined)).toMatchObject({ reason: 'InvalidPoolAnnotation' });
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
    expect(choosePool(service(), pools, ns, undefined)).toEqual({
      pool: { kind: 'GlobalInClusterIPPool', name: 'b-global' },
    });
    expect(choosePool(service(), [...pools, pool({ name: 'm-local' })], ns, undefined)).toEqual({
      pool: { kind: 'InClusterIPPool', name: 'm-local' },
    });
  });

  it('takes the pool of the Service family, and for a requested address the pool that contains it', () => {
    const pools = [pool({ name: 'v4' }), pool({ name: 'v6', addresses: ['fd00::1-fd00::9'] })];
    expect(choosePool(service({ spec: { ipFamilies: ['IPv6'] } }), pools, ns, undefined)).toEqual({
      pool: { kind: 'InClusterIPPool', name: 'v6' },
    });
    const full = [pool({ name: 'full', free: 0n })];
    expect(choosePool(service(), full, ns, '10.0.0.3')).toEqual({
      pool: { kind: 'InClusterIPPool', name: 'full' },
    });
    expect(choosePool(service(), full, ns, '10.1.0.3')).toMatchObject({ reason: 'NoPoolAvailable' });
    expect(choosePool(service(), full, ns, undefined)).toMatchObject({ reason: 'NoPoolAvailable' });
  });
});

describe('what is written on the Service', () => {
  it('announces the address with kube-vip annotation and label, once', () => {
    const svc = service();
    expect(announcePatch(svc, '10.0.0.1')).toEqual({
      metadata: {
        resourceVersion: '7',
        annotations: { 'kube-vip.io/loadbalancerIPs': '10.0.0.1' },
        labels: { implementation: 'kube-vip' },
      },
    });
    const done = service({ annotations: { 'kube-vip.io/loadbalancerIPs': '10.0.0.1' } });
    done.metadata.labels = { implementation: 'kube-vip' };
    expect(announcePatch(done, '10.0.0.1')).toBeUndefined();
  });

  it('writes ingress and condition, and nothing when both are in place', () => {
    const condition = {
      type: SERVICE_LB_CONDITION,
      status: 'True' as const,
      reason: 'AddressAssigned',
      message: 'm',
    };
    const patch = statusPatch(service(), '10.0.0.1', condition) as {
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
    expect(statusPatch(written, '10.0.0.1', condition)).toBeUndefined();
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
    const claim = (uid: string) => ({
      metadata: {
        labels: { 'ipam.cluster.x-k8s.io/service-lb-of': 'web' },
        ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid }],
      },
    });
    expect(serviceClaimOwnership(claim('u1'), svc)).toBe('this');
    expect(serviceClaimOwnership(claim('u0'), svc)).toBe('earlier');
    expect(serviceClaimOwnership({ metadata: {} }, svc)).toBe('none');
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
