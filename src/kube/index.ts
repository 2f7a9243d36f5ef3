// The controller runtime: what controller-runtime gives the Go provider, small and generic.
export {
  Backoff,
  type BackoffOptions,
  BucketRateLimiter,
  defaultControllerRateLimiter,
  ExponentialFailureRateLimiter,
  MaxOfRateLimiter,
  type RateLimiter,
  sleep,
} from './backoff.js';
export { byNamespace, Cache, type IndexFunc, NAMESPACE_INDEX } from './cache.js';
export {
  type APIResourceList,
  type ApplyOptions,
  type DeleteOptions,
  type JsonPatchOperation,
  KubeClient,
  type ListOptions,
  type PatchType,
  type WatchEvent,
  type WatchEventType,
  type WatchOptions,
  type WriteOptions,
} from './client.js';
export { Connection, type ConnectionOptions, type ConnectionStats, type RequestSpec } from './connection.js';
export {
  isAlreadyExists,
  isConflict,
  isGone,
  isInvalid,
  isNotFound,
  isTransient,
  KubeApiError,
  type KubeErrorReason,
} from './errors.js';
export {
  type CoreEvent,
  EventRecorder,
  type EventRecorderOptions,
  type EventType,
  eventResource,
} from './events.js';
export {
  ADDRESS_INDEX,
  addressKey,
  byAddress,
  byClusterName,
  byLabel,
  byPoolReference,
  CLUSTER_NAME_INDEX,
  CLUSTER_NAME_LABEL,
  POOL_REFERENCE_INDEX,
  type PoolReference,
  type PoolReferrer,
  poolReferenceKey,
} from './indexes.js';
export {
  dropManagedFields,
  Informer,
  type InformerHandlers,
  type InformerOptions,
  type InformerStats,
  waitForCacheSync,
} from './informer.js';
export {
  type KubeCluster,
  type KubeConfig,
  KubeConfigError,
  KubeConfigLoader,
  type KubeUser,
} from './kubeconfig.js';
export {
  DEFAULT_LEASE_DURATION_MS,
  DEFAULT_RENEW_DEADLINE_MS,
  DEFAULT_RETRY_PERIOD_MS,
  type ElectionOutcome,
  type LeaderCallbacks,
  type LeaderElectionOptions,
  LeaderElector,
  type Lease,
  leaseResource,
} from './leader-election.js';
export { type Logger, silentLogger } from './logger.js';
export { type QueueMetrics, WorkQueue, type WorkQueueOptions } from './queue.js';
export {
  apiVersionOf,
  compareResourceVersions,
  type KubeObject,
  type ListMeta,
  type ObjectList,
  type ObjectMeta,
  type OwnerReference,
  objectKey,
  type ResourceDescriptor,
  resourcePath,
  type Status,
  splitObjectKey,
} from './resource.js';
export { AccessReviews, type ReviewedUser } from './reviews.js';
export { StringInterner, slimForCache } from './slim.js';
export {
  type ReconcileResult,
  type Reconciler,
  runWorkers,
  type WorkerOptions,
  type WorkerPool,
} from './workers.js';
