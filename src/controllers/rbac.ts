/**
 * What the controllers may do, as Kubernetes RBAC: the Go provider's ClusterRole (its kubebuilder
 * markers) plus events, which we write and it does not, and what Clusters' control-plane endpoints
 * need (cluster-endpoint.ts): patch on clusters, create and delete on claims, and what Services'
 * load-balancer addresses need (service-lb.ts): services get, list, watch and patch, and
 * services/status patch. A test runs the controller as a user bound to exactly these rules, so a
 * request they do not allow fails a test instead of a cluster.
 */
import { CLUSTER_GROUP, IP_POOL_KINDS, IPAM_GROUP, PREFIX_POOL_KINDS } from '../api/constants.js';

export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  nonResourceURLs?: string[];
  verbs: string[];
}

const POOLS = [...IP_POOL_KINDS, ...PREFIX_POOL_KINDS].map((k) => `${k.toLowerCase()}s`).sort();
const ALL = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];

/** The ClusterRole `manager-role`. */
export const MANAGER_RULES: readonly PolicyRule[] = [
  { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
  // Global pools' spec.namespaceSelector reads the claim's Namespace labels.
  { apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'watch'] },
  // Services' load-balancer addresses (service-lb.ts): kube-vip's annotation and label, and
  // status.loadBalancer with our condition, each by merge patch.
  { apiGroups: [''], resources: ['services'], verbs: ['get', 'list', 'patch', 'watch'] },
  { apiGroups: [''], resources: ['services/status'], verbs: ['patch'] },
  // patch: a Cluster's spec.controlPlaneEndpoint, its topology variable and spec.paused.
  { apiGroups: [CLUSTER_GROUP], resources: ['clusters'], verbs: ['get', 'list', 'patch', 'watch'] },
  { apiGroups: [IPAM_GROUP], resources: [...POOLS, 'ipaddresses'], verbs: ALL },
  {
    apiGroups: [IPAM_GROUP],
    resources: [
      ...POOLS.map((p) => `${p}/finalizers`),
      'ipaddressclaims/finalizers',
      'ipaddresses/finalizers',
    ],
    verbs: ['update'],
  },
  {
    apiGroups: [IPAM_GROUP],
    resources: [...POOLS.map((p) => `${p}/status`), 'ipaddressclaims/status', 'ipaddresses/status'],
    verbs: ['get', 'patch', 'update'],
  },
  // create and delete: a Cluster's endpoint claim, made for it and deleted once it is gone.
  {
    apiGroups: [IPAM_GROUP],
    resources: ['ipaddressclaims'],
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
  },
];

/** The Role `leader-election-role` in the provider's namespace: the Lease (and events about it). */
export const LEADER_ELECTION_RULES: readonly PolicyRule[] = [
  { apiGroups: [''], resources: ['configmaps'], verbs: ALL },
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ALL },
  { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
];

/** The ClusterRole `proxy-role`: secure diagnostics ask the API server who a scraper is and what it may read. */
export const PROXY_RULES: readonly PolicyRule[] = [
  { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
  { apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], verbs: ['create'] },
];

/** The ClusterRole `metrics-reader`, for whoever scrapes /metrics (Prometheus' service account). */
export const METRICS_READER_RULES: readonly PolicyRule[] = [
  { nonResourceURLs: ['/metrics'], verbs: ['get'] },
];
