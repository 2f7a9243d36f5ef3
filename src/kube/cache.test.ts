import { describe, expect, it } from 'vitest';
import { byNamespace, Cache, NAMESPACE_INDEX } from './cache.js';
import {
  ADDRESS_INDEX,
  addressKey,
  byAddress,
  byClusterName,
  byPoolReference,
  CLUSTER_NAME_INDEX,
  POOL_REFERENCE_INDEX,
  type PoolReferrer,
  poolReferenceKey,
} from './indexes.js';

const group = 'ipam.cluster.x-k8s.io';
const globalKinds = new Set(['GlobalInClusterIPPool']);

function address(
  namespace: string,
  name: string,
  pool: { kind: string; name: string },
  ip: string,
  cluster?: string,
): PoolReferrer {
  return {
    metadata: {
      namespace,
      name,
      ...(cluster ? { labels: { 'cluster.x-k8s.io/cluster-name': cluster } } : {}),
    },
    spec: { poolRef: { apiGroup: group, ...pool }, address: ip },
  };
}

describe('Cache', () => {
  const make = () =>
    new Cache<PoolReferrer>({
      [POOL_REFERENCE_INDEX]: byPoolReference(globalKinds),
      [ADDRESS_INDEX]: byAddress(globalKinds),
      [CLUSTER_NAME_INDEX]: byClusterName,
      [NAMESPACE_INDEX]: byNamespace,
    });

  it('finds objects by key and by namespace', () => {
    const c = make();
    c.upsert(address('a', 'x', { kind: 'InClusterIPPool', name: 'p' }, '10.0.0.1'));
    c.upsert(address('b', 'y', { kind: 'InClusterIPPool', name: 'p' }, '10.0.0.1'));
    expect(c.get('a/x')?.metadata.name).toBe('x');
    expect(c.getByName('y', 'b')?.metadata.namespace).toBe('b');
    expect(c.byIndex(NAMESPACE_INDEX, 'a').map((o) => o.metadata.name)).toEqual(['x']);
    expect(c.indexValues(NAMESPACE_INDEX).sort()).toEqual(['a', 'b']);
  });

  it('files a namespaced pool per namespace and a global pool across namespaces', () => {
    const c = make();
    c.upsert(address('a', 'x', { kind: 'InClusterIPPool', name: 'p' }, '10.0.0.1'));
    c.upsert(address('b', 'y', { kind: 'InClusterIPPool', name: 'p' }, '10.0.0.2'));
    c.upsert(address('a', 'g1', { kind: 'GlobalInClusterIPPool', name: 'g' }, '10.1.0.1'));
    c.upsert(address('b', 'g2', { kind: 'GlobalInClusterIPPool', name: 'g' }, '10.1.0.2'));
    const local = poolReferenceKey({ apiGroup: group, kind: 'InClusterIPPool', name: 'p' }, 'a');
    const global = poolReferenceKey({ apiGroup: group, kind: 'GlobalInClusterIPPool', name: 'g' }, undefined);
    expect(c.byIndex(POOL_REFERENCE_INDEX, local).map((o) => o.metadata.name)).toEqual(['x']);
    expect(
      c
        .byIndex(POOL_REFERENCE_INDEX, global)
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual(['g1', 'g2']);
  });

  it('shows two addresses holding one address of one pool together', () => {
    const c = make();
    const pool = { kind: 'GlobalInClusterIPPool', name: 'g' };
    c.upsert(address('a', 'one', pool, '10.1.0.7'));
    c.upsert(address('b', 'two', pool, '10.1.0.7'));
    const key = addressKey(poolReferenceKey({ apiGroup: group, ...pool }, undefined), '10.1.0.7');
    expect(c.indexKeys(ADDRESS_INDEX, key).sort()).toEqual(['a/one', 'b/two']);
  });

  it('moves an object between index values when it changes, and forgets it when removed', () => {
    const c = make();
    c.upsert(address('a', 'x', { kind: 'InClusterIPPool', name: 'p' }, '10.0.0.1', 'c1'));
    expect(c.byIndex(CLUSTER_NAME_INDEX, 'a/c1')).toHaveLength(1);
    c.upsert(address('a', 'x', { kind: 'InClusterIPPool', name: 'p' }, '10.0.0.1', 'c2'));
    expect(c.byIndex(CLUSTER_NAME_INDEX, 'a/c1')).toHaveLength(0);
    expect(c.indexValues(CLUSTER_NAME_INDEX)).toEqual(['a/c2']);
    c.remove('a/x');
    expect(c.size).toBe(0);
    expect(c.indexValues(CLUSTER_NAME_INDEX)).toEqual([]);
  });

  it('files existing objects when an index is added later', () => {
    const c = new Cache<PoolReferrer>();
    c.upsert(address('a', 'x', { kind: 'InClusterIPPool', name: 'p' }, '10.0.0.1', 'c1'));
    c.addIndex(CLUSTER_NAME_INDEX, byClusterName);
    expect(c.byIndex(CLUSTER_NAME_INDEX, 'a/c1')).toHaveLength(1);
    expect(() => c.byIndex('nope', 'x')).toThrow(/no index/);
  });
});
