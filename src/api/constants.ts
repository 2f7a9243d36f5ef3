/**
 * Names shared with the Go provider and Cluster API. They are part of the contract with users'
 * manifests, clusterctl and other controllers, so each one is spelled exactly as upstream.
 */

/** API group of our pools and of Cluster API's IPAddressClaim / IPAddress. */
export const IPAM_GROUP = 'ipam.cluster.x-k8s.io';
/** API group of Cluster API's Cluster. */
export const CLUSTER_GROUP = 'cluster.x-k8s.io';

/** Our storage ("hub") version. */
export const POOL_VERSION_V1ALPHA2 = 'v1alpha2';
/** Served, deprecated version of the IP pool kinds; converted to and from v1alpha2. */
export const POOL_VERSION_V1ALPHA1 = 'v1alpha1';

export const KIND_IN_CLUSTER_IP_POOL = 'InClusterIPPool';
export const KIND_GLOBAL_IN_CLUSTER_IP_POOL = 'GlobalInClusterIPPool';
export const KIND_IN_CLUSTER_PREFIX_POOL = 'InClusterPrefixPool';
export const KIND_GLOBAL_IN_CLUSTER_PREFIX_POOL = 'GlobalInClusterPrefixPool';

export type IPPoolKind = typeof KIND_IN_CLUSTER_IP_POOL | typeof KIND_GLOBAL_IN_CLUSTER_IP_POOL;
export type PrefixPoolKind = typeof KIND_IN_CLUSTER_PREFIX_POOL | typeof KIND_GLOBAL_IN_CLUSTER_PREFIX_POOL;
export type PoolKind = IPPoolKind | PrefixPoolKind;

export const IP_POOL_KINDS: readonly IPPoolKind[] = [KIND_IN_CLUSTER_IP_POOL, KIND_GLOBAL_IN_CLUSTER_IP_POOL];
export const PREFIX_POOL_KINDS: readonly PrefixPoolKind[] = [
  KIND_IN_CLUSTER_PREFIX_POOL,
  KIND_GLOBAL_IN_CLUSTER_PREFIX_POOL,
];
/** Every kind a claim's `spec.poolRef.kind` may name for us to handle it (with group IPAM_GROUP). */
export const POOL_KINDS: readonly PoolKind[] = [...IP_POOL_KINDS, ...PREFIX_POOL_KINDS];

export function isPoolKind(kind: string): kind is PoolKind {
  return (POOL_KINDS as readonly string[]).includes(kind);
}
export function isIPPoolKind(kind: string): kind is IPPoolKind {
  return (IP_POOL_KINDS as readonly string[]).includes(kind);
}
export function isPrefixPoolKind(kind: string): kind is PrefixPoolKind {
  return (PREFIX_POOL_KINDS as readonly string[]).includes(kind);
}
/** Global pools are cluster-scoped: claims from any namespace may use them. */
export function isGlobalPoolKind(kind: string): boolean {
  return kind === KIND_GLOBAL_IN_CLUSTER_IP_POOL || kind === KIND_GLOBAL_IN_CLUSTER_PREFIX_POOL;
}

export const KIND_IP_ADDRESS_CLAIM = 'IPAddressClaim';
export const KIND_IP_ADDRESS = 'IPAddress';
export const KIND_CLUSTER = 'Cluster';

/** Cluster API versions of the claim/address kinds: v1beta2 from CAPI 1.11, v1beta1 on 1.6–1.10. */
export const CAPI_VERSION_V1BETA2 = 'v1beta2';
export const CAPI_VERSION_V1BETA1 = 'v1beta1';

// --- Finalizers (anchor §3.9) ---

/** On the claim: held until its address is released. */
export const FINALIZER_RELEASE_ADDRESS = 'ipam.cluster.x-k8s.io/ReleaseAddress';
/** On the IPAddress: keeps it while its claim exists, so an address in use is never freed by accident. */
export const FINALIZER_PROTECT_ADDRESS = 'ipam.cluster.x-k8s.io/ProtectAddress';
/** On every pool kind: held while IPAddresses reference the pool. */
export const FINALIZER_PROTECT_POOL = 'ipam.cluster.x-k8s.io/ProtectPool';

// --- Annotations ---

/** Pauses reconciliation of the pool, claim or Cluster that carries it (any value). */
export const ANNOTATION_PAUSED = 'cluster.x-k8s.io/paused';
/** Key presence (any value) skips the pool delete check; clusterctl move relies on it. */
export const ANNOTATION_SKIP_VALIDATE_DELETE_WEBHOOK = 'ipam.cluster.x-k8s.io/skip-validate-delete-webhook';
/**
 * Holds what a v1alpha1 object said that v1alpha2 cannot (subnet/start/end) and what v1alpha2 said
 * that v1alpha1 cannot, so that conversion is lossless both ways. Same key as Cluster API's
 * `utilconversion.MarshalData`, so objects written by the Go provider keep their v1alpha1 view.
 */
export const ANNOTATION_CONVERSION_DATA = 'cluster.x-k8s.io/conversion-data';

// --- Labels ---

/** Links a claim (and, copied, its IPAddress) to a Cluster; deprecated in favour of spec.clusterName. */
export const LABEL_CLUSTER_NAME = 'cluster.x-k8s.io/cluster-name';
/** Only objects carrying this label with the configured value are watched when --watch-filter is set. */
export const LABEL_WATCH_FILTER = 'cluster.x-k8s.io/watch-filter';
/** On our CRDs: clusterctl move moves pools together with the IPAddresses they own. */
export const LABEL_CLUSTERCTL_MOVE_HIERARCHY = 'clusterctl.cluster.x-k8s.io/move-hierarchy';

// --- Numbers the schema and the validation share ---

export const PREFIX_MIN = 0;
export const PREFIX_MAX = 128;
/** int32 upper bound of addressReuseGracePeriodSeconds. */
export const INT32_MAX = 2_147_483_647;
/** Status counts are int64 in the CRD; larger counts (IPv6) are capped at this value. */
export const STATUS_COUNT_MAX = 9_223_372_036_854_775_807n;

// --- Allocation strategies (spec.allocationStrategy of every pool kind) ---

/** The lowest free address (or prefix) first: the Go provider's only behaviour, and ours when unset. */
export const ALLOCATION_STRATEGY_LOWEST = 'Lowest';
/** The highest free address first. */
export const ALLOCATION_STRATEGY_HIGHEST = 'Highest';
/** Any free address, picked at random. */
export const ALLOCATION_STRATEGY_RANDOM = 'Random';
/** The next free address after `status.lastAllocated`, wrapping around at the end of the pool. */
export const ALLOCATION_STRATEGY_ROUND_ROBIN = 'RoundRobin';

/** The values `spec.allocationStrategy` may take, in the order the schema's enum lists them. */
export const ALLOCATION_STRATEGIES = [
  ALLOCATION_STRATEGY_LOWEST,
  ALLOCATION_STRATEGY_HIGHEST,
  ALLOCATION_STRATEGY_RANDOM,
  ALLOCATION_STRATEGY_ROUND_ROBIN,
] as const;
export type AllocationStrategy = (typeof ALLOCATION_STRATEGIES)[number];
/** What an absent `spec.allocationStrategy` means. */
export const DEFAULT_ALLOCATION_STRATEGY: AllocationStrategy = ALLOCATION_STRATEGY_LOWEST;

export function isAllocationStrategy(value: unknown): value is AllocationStrategy {
  return typeof value === 'string' && (ALLOCATION_STRATEGIES as readonly string[]).includes(value);
}

/** The strategy a spec means: its own when set (and known), else Lowest. */
export function effectiveAllocationStrategy(spec: { allocationStrategy?: unknown }): AllocationStrategy {
  return isAllocationStrategy(spec.allocationStrategy)
    ? spec.allocationStrategy
    : DEFAULT_ALLOCATION_STRATEGY;
}
