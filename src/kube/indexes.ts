// Index functions for the lookups the controllers make. They read Cluster API's shapes
// structurally (spec.poolRef, spec.address, the cluster-name label), so this layer needs no
// import of the typed kinds.
import type { IndexFunc } from './cache.js';
import type { KubeObject } from './resource.js';

export const CLUSTER_NAME_LABEL = 'cluster.x-k8s.io/cluster-name';

export const POOL_REFERENCE_INDEX = 'poolReference';
export const CLUSTER_NAME_INDEX = 'clusterName';
export const ADDRESS_INDEX = 'address';

export interface PoolReference {
  apiGroup?: string;
  kind: string;
  name: string;
}

/** Claims and addresses: both carry spec.poolRef (and an address carries spec.address). */
export interface PoolReferrer extends KubeObject {
  spec?: { poolRef?: Partial<PoolReference>; address?: string };
}

/**
 * The value a pool is found under: `group/Kind/namespace/name`, without the namespace for
 * cluster-scoped pools (a global pool is the same pool from whichever namespace it is claimed).
 */
export function poolReferenceKey(ref: PoolReference, namespace: string | undefined): string {
  return `${ref.apiGroup ?? ''}/${ref.kind}/${namespace ?? ''}/${ref.name}`;
}

/**
 * Files claims or addresses under the pool they reference. `clusterScopedKinds` names the pool
 * kinds that have no namespace (e.g. GlobalInClusterIPPool).
 */
export function byPoolReference(clusterScopedKinds: ReadonlySet<string>): IndexFunc<PoolReferrer> {
  return (obj) => {
    const ref = obj.spec?.poolRef;
    if (!ref?.kind || !ref.name) return [];
    const namespace = clusterScopedKinds.has(ref.kind) ? undefined : obj.metadata.namespace;
    return [poolReferenceKey({ apiGroup: ref.apiGroup, kind: ref.kind, name: ref.name }, namespace)];
  };
}

/**
 * Files addresses under `poolKey|address`, so two objects holding one address in one pool show up
 * together. `normalize` puts the address in canonical form (IPv6 has many spellings).
 */
export function byAddress(
  clusterScopedKinds: ReadonlySet<string>,
  normalize: (address: string) => string = (a) => a,
): IndexFunc<PoolReferrer> {
  const pool = byPoolReference(clusterScopedKinds);
  return (obj) => {
    const address = obj.spec?.address;
    const [poolKey] = pool(obj);
    if (!address || poolKey === undefined) return [];
    return [addressKey(poolKey, normalize(address))];
  };
}

export function addressKey(poolKey: string, address: string): string {
  return `${poolKey}|${address}`;
}

/** Files objects under a label's value; objects without the label are not filed. */
export function byLabel(label: string): IndexFunc<KubeObject> {
  return (obj) => {
    const value = obj.metadata.labels?.[label];
    return value === undefined ? [] : [value];
  };
}

/** Files objects under `namespace/clusterName` from Cluster API's cluster-name label. */
export function byClusterName(obj: KubeObject): string[] {
  const value = obj.metadata.labels?.[CLUSTER_NAME_LABEL];
  return value === undefined ? [] : [`${obj.metadata.namespace ?? ''}/${value}`];
}
