/**
 * The informers the manager starts for what discovery found served: claims and IPAddresses (the
 * many, cached as compact records) and the pool kinds. Their handlers are the manager's.
 */
import type { Logger } from 'pino';
import { IPAM_GROUP, KIND_IP_ADDRESS, KIND_IP_ADDRESS_CLAIM, type PoolKind } from '../api/constants.js';
import {
  Informer,
  type KubeClient,
  type KubeObject,
  type ResourceDescriptor,
  StringInterner,
  slimForCache,
} from '../kube/index.js';
import { cacheRecords } from './cache-records.js';
import { handlesPoolRef, poolKeyOfRef } from './claim-rules.js';
import { CLAIM_ENDPOINT_INDEX, claimEndpointIndex } from './cluster-endpoint-rules.js';
import { CLAIM_CLUSTER_INDEX, claimClusterIndex } from './clusters.js';
import type { Live, LiveAddress, LiveClaim } from './context.js';
import type { ServedKinds } from './discovery.js';
import { poolResource } from './inclusterippool.js';
import type { PoolObject } from './pool-state.js';
import { CLAIM_SERVICE_INDEX, claimServiceIndex } from './service-lb-rules.js';

/** The claims' index by the pool they name. */
export const CLAIM_POOL_INDEX = 'poolKey';

export interface ProviderInformers {
  claimResource: ResourceDescriptor;
  addressResource: ResourceDescriptor;
  claims: Informer<LiveClaim>;
  addresses: Informer<LiveAddress>;
  pools: { kind: PoolKind; informer: Informer<Live<PoolObject>> }[];
  namespaces: Informer<Live<KubeObject>>;
  /** The transform of the caches that are neither claims nor IPAddresses (pools, Clusters). */
  slim: <T extends KubeObject>(obj: T) => T;
}

export function newInformers(opts: {
  client: KubeClient;
  log: Logger;
  /** Namespaced objects of this namespace only (--namespace). */
  namespace: string | undefined;
  served: ServedKinds;
  /** While the initial lists are read: how many claims and IPAddresses they will hold. */
  onListProgress?(expectedObjects: number): void;
}): ProviderInformers {
  const { client, log, namespace, served } = opts;
  const res = (kind: string, plural: string): ResourceDescriptor => ({
    group: IPAM_GROUP,
    version: served.claimVersion,
    plural,
    namespaced: true,
    kind,
  });
  const claimResource = res(KIND_IP_ADDRESS_CLAIM, 'ipaddressclaims');
  const addressResource = res(KIND_IP_ADDRESS, 'ipaddresses');
  // managedFields are most of an object's bytes and we never read them; repeated strings are
  // shared: one transform (and one string table) for every cache.
  const strings = new StringInterner();
  const slim = slimForCache(strings);
  // Claims and IPAddresses are the many: their caches keep compact records (cache-records.ts).
  const records = cacheRecords(strings);
  const expected = { claims: 0, addresses: 0 };
  const progress = (kind: keyof typeof expected) => (n: number) => {
    expected[kind] = n;
    opts.onListProgress?.(expected.claims + expected.addresses);
  };
  const claims = new Informer<LiveClaim>(client, claimResource, {
    namespace,
    logger: log,
    transform: (c) => records.claim(c),
    onListProgress: progress('claims'),
    indexers: {
      [CLAIM_POOL_INDEX]: (c) =>
        handlesPoolRef(c.spec?.poolRef) ? [poolKeyOfRef(c.spec.poolRef, c.metadata.namespace)] : [],
      [CLAIM_CLUSTER_INDEX]: claimClusterIndex,
      // A Cluster's control-plane endpoint claim, found from the Cluster (cluster-endpoint.ts).
      [CLAIM_ENDPOINT_INDEX]: claimEndpointIndex,
      // A Service's load-balancer claim, found from the Service (service-lb.ts).
      [CLAIM_SERVICE_INDEX]: claimServiceIndex,
    },
  });
  const addresses = new Informer<LiveAddress>(client, addressResource, {
    namespace,
    logger: log,
    transform: (a) => records.address(a),
    onListProgress: progress('addresses'),
  });
  const pools = served.poolKinds.map((kind) => {
    const r = poolResource(kind);
    return {
      kind,
      informer: new Informer<Live<PoolObject>>(client, r, {
        namespace: r.namespaced ? namespace : undefined,
        logger: log,
        transform: slim,
      }),
    };
  });
  // Global pools may select the namespaces they serve (spec.namespaceSelector): their labels are
  // read on every such claim, and a change of them re-evaluates the namespace's waiting claims.
  const namespaces = new Informer<Live<KubeObject>>(client, NAMESPACE_RESOURCE, {
    logger: log,
    transform: slim,
    ...(namespace ? { fieldSelector: `metadata.name=${namespace}` } : {}),
  });
  return { claimResource, addressResource, claims, addresses, pools, namespaces, slim };
}

const NAMESPACE_RESOURCE: ResourceDescriptor = {
  group: '',
  version: 'v1',
  plural: 'namespaces',
  namespaced: false,
  kind: 'Namespace',
};
