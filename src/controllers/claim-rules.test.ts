import { describe, expect, it } from 'vitest';
import type { IPAddress, IPAddressClaim } from '../api/capi-types.js';
import type { IPPool } from '../api/ippool-types.js';
import {
  adoptionPatch,
  clusterNameOf,
  desiredIPAddress,
  handlesPoolRef,
  isPaused,
  mergeOwnerReference,
  passesWatchFilter,
  poolKey,
} from './claim-rules.js';

const claim: IPAddressClaim = {
  metadata: {
    name: 'vm-0',
    namespace: 'ns',
    uid: 'claim-uid',
    labels: { 'cluster.x-k8s.io/cluster-name': 'c1' },
  },
  spec: { poolRef: { apiGroup: 'ipam.cluster.x-k8s.io', kind: 'InClusterIPPool', name: 'pool' } },
};
const pool: IPPool = {
  metadata: { name: 'pool', namespace: 'ns', uid: 'pool-uid' },
  spec: { addresses: ['10.0.0.0/24'], prefix: 24, gateway: '10.0.0.1' },
};

describe('claim rules', () => {
  it('handles only our group and our four pool kinds', () => {
    expect(handlesPoolRef({ apiGroup: 'ipam.cluster.x-k8s.io', kind: 'InClusterIPPool' })).toBe(true);
    expect(handlesPoolRef({ apiGroup: 'ipam.cluster.x-k8s.io', kind: 'GlobalInClusterIPPool' })).toBe(true);
    expect(handlesPoolRef({ apiGroup: 'ipam.cluster.x-k8s.io', kind: 'InClusterPrefixPool' })).toBe(true);
    expect(handlesPoolRef({ apiGroup: 'ipam.cluster.x-k8s.io', kind: 'GlobalInClusterPrefixPool' })).toBe(
      true,
    );
    expect(handlesPoolRef({ apiGroup: '', kind: 'InClusterIPPool' })).toBe(false);
    expect(handlesPoolRef({ apiGroup: 'ipam.metal3.io', kind: 'IPPool' })).toBe(false);
    expect(handlesPoolRef({ apiGroup: 'ipam.cluster.x-k8s.io', kind: 'SomethingElse' })).toBe(false);
  });

  it('keys namespaced pools by namespace and global pools by name only', () => {
    expect(poolKey('InClusterIPPool', 'a', 'p')).not.toBe(poolKey('InClusterIPPool', 'b', 'p'));
    expect(poolKey('GlobalInClusterIPPool', 'a', 'p')).toBe(poolKey('GlobalInClusterIPPool', 'b', 'p'));
    expect(poolKey('GlobalInClusterIPPool', undefined, 'p')).not.toBe(
      poolKey('InClusterIPPool', undefined, 'p'),
    );
  });

  it('treats the paused annotation as present whatever its value', () => {
    expect(isPaused({ metadata: { annotations: { 'cluster.x-k8s.io/paused': '' } } })).toBe(true);
    expect(isPaused({ metadata: { annotations: { other: 'x' } } })).toBe(false);
  });

  it('applies the watch filter only when one is set', () => {
    const labelled = { metadata: { labels: { 'cluster.x-k8s.io/watch-filter': 'team-a' } } };
    expect(passesWatchFilter({ metadata: {} }, undefined)).toBe(true);
    expect(passesWatchFilter(labelled, 'team-a')).toBe(true);
    expect(passesWatchFilter(labelled, 'team-b')).toBe(false);
  });

  it('prefers spec.clusterName over the cluster-name label', () => {
    expect(clusterNameOf(claim)).toBe('c1');
    expect(clusterNameOf({ ...claim, spec: { ...claim.spec, clusterName: 'c2' } })).toBe('c2');
  });

  it('writes the IPAddress as the Go provider does', () => {
    const addr = desiredIPAddress(
      claim,
      'ipam.cluster.x-k8s.io/v1beta2',
      pool,
      'InClusterIPPool',
      'ipam.cluster.x-k8s.io/v1beta2',
      {
        address: '10.0.0.2',
        prefix: 24,
        gateway: '10.0.0.1',
      },
    );
    expect(addr).toEqual({
      apiVersion: 'ipam.cluster.x-k8s.io/v1beta2',
      kind: 'IPAddress',
      metadata: {
        name: 'vm-0',
        namespace: 'ns',
        labels: { 'cluster.x-k8s.io/cluster-name': 'c1' },
        finalizers: ['ipam.cluster.x-k8s.io/ProtectAddress'],
        ownerReferences: [
          {
            apiVersion: 'ipam.cluster.x-k8s.io/v1beta2',
            kind: 'IPAddressClaim',
            name: 'vm-0',
            uid: 'claim-uid',
            controller: true,
            blockOwnerDeletion: true,
          },
          {
            apiVersion: 'ipam.cluster.x-k8s.io/v1alpha2',
            kind: 'InClusterIPPool',
            name: 'pool',
            uid: 'pool-uid',
            controller: false,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: {
        claimRef: { name: 'vm-0' },
        poolRef: { apiGroup: 'ipam.cluster.x-k8s.io', kind: 'InClusterIPPool', name: 'pool' },
        address: '10.0.0.2',
        prefix: 24,
        gateway: '10.0.0.1',
      },
    });
  });

  it('leaves out an empty gateway', () => {
    const addr = desiredIPAddress(claim, 'v', pool, 'InClusterIPPool', 'v', {
      address: '10.0.0.2',
      prefix: 24,
    });
    expect(addr.spec).not.toHaveProperty('gateway');
  });

  it('keeps unrelated owner references and does not steal a controller reference', () => {
    const other = { apiVersion: 'example.com/v1', kind: 'Thing', name: 't', uid: 'u', controller: true };
    const merged = mergeOwnerReference([other], {
      apiVersion: 'ipam.cluster.x-k8s.io/v1beta2',
      kind: 'IPAddressClaim',
      name: 'vm-0',
      uid: 'x',
      controller: true,
      blockOwnerDeletion: true,
    });
    expect(merged).toHaveLength(2);
    expect(merged[0]).toBe(other);
    expect(merged[1]?.controller).toBe(false);
  });

  it('adopts an existing IPAddress without touching its spec and asks nothing more once adopted', () => {
    const existing: IPAddress = {
      metadata: { name: 'vm-0', namespace: 'ns', resourceVersion: '7' },
      spec: {
        claimRef: { name: 'vm-0' },
        poolRef: { apiGroup: 'ipam.cluster.x-k8s.io', kind: 'InClusterIPPool', name: 'pool' },
        address: '10.0.0.77',
        prefix: 24,
      },
    };
    const patch = adoptionPatch(existing, claim, 'ipam.cluster.x-k8s.io/v1beta2', pool, 'InClusterIPPool');
    expect(patch?.metadata.finalizers).toEqual(['ipam.cluster.x-k8s.io/ProtectAddress']);
    expect(patch?.metadata.resourceVersion).toBe('7');
    expect(patch).not.toHaveProperty('spec');
    const adopted: IPAddress = {
      ...existing,
      metadata: { ...existing.metadata, ...(patch?.metadata as object) },
    };
    expect(
      adoptionPatch(adopted, claim, 'ipam.cluster.x-k8s.io/v1beta2', pool, 'InClusterIPPool'),
    ).toBeUndefined();
  });
});
