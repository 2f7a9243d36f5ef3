/**
 * What the reconcilers share: the client, the informers' caches, the pool registry, events, logs
 * and metrics. Built by the manager; reconcilers only read it.
 */

import type { Logger } from 'pino';
import type { Cluster, IPAddress, IPAddressClaim } from '../api/capi-types.js';
import type { ObjectMeta as ApiObjectMeta } from '../api/meta.js';
import type {
  Cache,
  EventRecorder,
  KubeClient,
  KubeObject,
  ObjectMeta,
  ResourceDescriptor,
} from '../kube/index.js';
import type { Metrics } from '../observability/metrics.js';
import type { PoolRegistry } from './pool-registry.js';

/** src/api types with the metadata an object read from the API server always has. */
export type Live<T extends { metadata?: ApiObjectMeta }> = T & { metadata: ObjectMeta & ApiObjectMeta };

export type LiveClaim = Live<IPAddressClaim>;
export type LiveAddress = Live<IPAddress>;
export type LiveCluster = Live<Cluster>;

export interface ControllerContext {
  client: KubeClient;
  log: Logger;
  recorder: EventRecorder;
  metrics: Metrics;
  registry: PoolRegistry;
  claims: Cache<LiveClaim>;
  addresses: Cache<LiveAddress>;
  /**
   * Undefined while Cluster API's Cluster kind is not served (then no claim's Cluster exists). The
   * manager fills it in once the kind appears and its cache synced, so read it on every reconcile.
   */
  clusters: Cache<LiveCluster> | undefined;
  /** Cluster API's Cluster as served (v1beta2 or v1beta1); set together with `clusters`. */
  clusterResource: ResourceDescriptor | undefined;
  /** Namespaces, for the namespaceSelector of global pools (only the one of --namespace, if set). */
  namespaces: Cache<Live<KubeObject>>;
  claimResource: ResourceDescriptor;
  addressResource: ResourceDescriptor;
  /** apiVersion of claims and addresses as served (ipam.cluster.x-k8s.io/v1beta2 or v1beta1). */
  capiApiVersion: string;
  watchFilter: string | undefined;
  /** Field manager named in every write. */
  fieldManager: string;
  now(): number;
}
