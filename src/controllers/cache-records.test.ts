import { describe, expect, it } from 'vitest';
import { StringInterner } from '../kube/index.js';
import { cacheRecords } from './cache-records.js';
import type { LiveAddress, LiveClaim } from './context.js';

const parse = <T>(o: unknown) => JSON.parse(JSON.stringify(o)) as T;
const poolRef = { apiGroup: 'ipam.cluster.x-k8s.io', kind: 'GlobalInClusterIPPool', name: 'pool-a' };
const paused = {
  type: 'Paused',
  status: 'False',
  reason: 'NotPaused',
  message: '',
  lastTransitionTime: '2026-12-01T10:00:00Z',
  observedGeneration: 1,
};

const claim = (name: string, extra: Record<string, unknown> = {}) =>
  parse<LiveClaim>({
    apiVersion: 'ipam.cluster.x-k8s.io/v1beta2',
    kind: 'IPAddressClaim',
    metadata: {
      name,
      namespace: 'ns',
      uid: `uid-${name}`,
      resourceVersion: '42',
      generation: 1,
      creationTimestamp: '2026-12-01T10:00:00Z',
      finalizers: ['ipam.cluster.x-k8s.io/ReleaseAddress'],
      labels: { 'cluster.x-k8s.io/cluster-name': 'c1' },
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"big":true}', keep: 'me' },
      managedFields: [{ manager: 'kubectl' }],
      ownerReferences: [
        { apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1', kind: 'VSphereVM', name, uid: 'm' },
      ],
      ...extra,
    },
    spec: { poolRef, clusterName: 'c1' },
    status: {
      addressRef: { name },
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'AddressAllocated',
          message: `Address for ${name}`,
          lastTransitionTime: '2026-12-01T10:00:00Z',
          observedGeneration: 1,
        },
        paused,
      ],
    },
  });

const address = (name: string) =>
  parse<LiveAddress>({
    apiVersion: 'ipam.cluster.x-k8s.io/v1beta2',
    kind: 'IPAddress',
    metadata: {
      name,
      namespace: 'ns',
      uid: `ip-${name}`,
      resourceVersion: '43',
      generation: 1,
      creationTimestamp: '2026-12-01T10:00:00Z',
      finalizers: ['ipam.cluster.x-k8s.io/ProtectAddress'],
      managedFields: [{ manager: 'capi-ipam-in-cluster' }],
      ownerReferences: [
        {
          apiVersion: 'ipam.cluster.x-k8s.io/v1beta2',
          kind: 'IPAddressClaim',
          name,
          uid: `uid-${name}`,
          controller: true,
          blockOwnerDeletion: true,
        },
        {
          apiVersion: 'ipam.cluster.x-k8s.io/v1alpha2',
          kind: 'GlobalInClusterIPPool',
          name: 'pool-a',
          uid: 'pool-uid',
          controller: false,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: { address: '10.0.0.1', prefix: 24, gateway: '10.0.0.254', claimRef: { name }, poolRef },
  });

describe('cache records', () => {
  it('keep of a claim what the controller reads and drop the rest', () => {
    const original = claim('a', { deletionTimestamp: '2026-12-01T11:00:00Z' });
    const record = cacheRecords(new StringInterner()).claim(
      claim('a', { deletionTimestamp: '2026-12-01T11:00:00Z' }),
    );
    const { managedFields, creationTimestamp, ownerReferences, annotations, ...kept } = original.metadata;
    expect(record).toEqual({ ...original, metadata: { ...kept, annotations: { keep: 'me' } } });
    expect([managedFields, creationTimestamp, ownerReferences]).not.toContain(undefined);
  });

  it('keep of an IPAddress its metadata, owner references and spec', () => {
    const original = address('a');
    const record = cacheRecords(new StringInterner()).address(address('a'));
    const { managedFields: _m, creationTimestamp: _c, generation: _g, ...kept } = original.metadata;
    expect(record).toEqual({ ...original, metadata: kept });
  });

  it('share what repeats between objects, frozen, and keep what differs apart', () => {
    const records = cacheRecords(new StringInterner());
    const [a, b] = [records.claim(claim('a')), records.claim(claim('b'))];
    expect(a.spec.poolRef).toBe(b.spec.poolRef);
    expect(a.metadata.finalizers).toBe(b.metadata.finalizers);
    expect(a.status?.conditions?.[1]).toBe(b.status?.conditions?.[1]);
    expect(a.status?.conditions?.[0]).not.toBe(b.status?.conditions?.[0]);
    expect(Object.isFrozen(a.spec.poolRef)).toBe(true);
    expect(() => (a.metadata.finalizers as string[]).push('x')).toThrow(TypeError);

    const [x, y] = [records.address(address('x')), records.address(address('y'))];
    expect(x.metadata.ownerReferences?.[1]).toBe(y.metadata.ownerReferences?.[1]);
    expect(x.metadata.ownerReferences?.[0]?.uid).toBe('uid-x');
    expect(x.spec.poolRef).toBe(a.spec.poolRef);
  });

  it('take malformed objects as they come, without throwing', () => {
    const records = cacheRecords(new StringInterner());
    const odd = parse<LiveClaim>({
      metadata: { name: 'odd' },
      status: { conditions: 'not a list', v1beta2: { conditions: [{ type: 1 }, null] } },
    });
    expect(records.claim(odd).status).toEqual(odd.status);
    const bare = parse<LiveAddress>({ metadata: { name: 'bare' } });
    expect(records.address(bare).metadata.name).toBe('bare');
    expect(records.address(bare).spec).toBeUndefined();
  });
});
