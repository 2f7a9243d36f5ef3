/**
 * Which change queues which key: the handlers of the claim, IPAddress, pool and Namespace
 * informers. They keep the registry current and queue claims for the claim controller and Clusters
 * for the control-plane endpoint controller — only once the registry was rebuilt from the synced
 * caches (`started`), so that no event slips in between.
 */
import type { Logger } from 'pino';
import type { EventRecorder, Informer, KubeObject } from '../kube/index.js';
import type { Metrics } from '../observability/metrics.js';
import { handlesPoolRef, isPaused, objectKey, poolKeyOfPool, poolKeyOfRef } from './claim-rules.js';
import { claimEndpointIndex } from './cluster-endpoint-rules.js';
import type { Live, LiveAddress, LiveClaim } from './context.js';
import { CLAIM_POOL_INDEX, type ProviderInformers } from './informers.js';
import { isOrphanCandidate } from './orphans.js';
import { bitmapAllocator, PoolRegistry } from './pool-registry.js';
import type { PoolState } from './pool-state.js';

export interface HandlerDeps {
  registry: PoolRegistry;
  started(): boolean;
  /** Queues a claim (or IPAddress) key for the claim controller. */
  enqueue(key: string): void;
  /** Queues a Cluster key for the control-plane endpoint controller (undefined: nothing). */
  enqueueEndpoint(clusterKey: string | undefined): void;
  /** A claim changed: the load-balancer controller queues the Services it is the address of. */
  serviceClaimChanged(claim: LiveClaim): void;
  /** A claim of ours changed: one naming a Cluster may mean Cluster API just arrived. */
  claimSeen(claim: LiveClaim): void;
  /** A pool was deleted: what is kept per pool (its metric series) goes. */
  poolGone(poolKey: string): void;
}

export function addInformerHandlers(
  informers: {
    claims: Informer<LiveClaim>;
    addresses: Informer<LiveAddress>;
    pools: ProviderInformers['pools'];
    namespaces: Informer<Live<KubeObject>>;
  },
  deps: HandlerDeps,
): void {
  const { claims, addresses, pools, namespaces } = informers;
  const { registry, started, enqueue, enqueueEndpoint, serviceClaimChanged } = deps;
  const enqueuePool = (poolKey: string) => {
    for (const c of claims.cache.byIndex(CLAIM_POOL_INDEX, poolKey)) enqueue(objectKey(c));
  };
  // A Cluster's endpoint claim or a Service's claim that changes (bound, say) brings it back too.
  const claimChanged = (c: LiveClaim) => {
    if (!started()) return;
    enqueueEndpoint(claimEndpointIndex(c)[0]);
    serviceClaimChanged(c);
    if (!handlesPoolRef(c.spec?.poolRef)) return;
    deps.claimSeen(c);
    enqueue(objectKey(c));
  };
  claims.addHandlers({
    onAdd: claimChanged,
    onUpdate: (_o, c) => claimChanged(c),
    // Not released here: a create for this claim may be in flight (the queue runs one reconcile
    // per key at a time), and its address freed under it would be handed out twice. The
    // reconciler, once the claim is gone, frees the reservation or releases what was created.
    onDelete: (c) => {
      if (!started()) return;
      enqueueEndpoint(claimEndpointIndex(c)[0]);
      serviceClaimChanged(c);
      if (handlesPoolRef(c.spec?.poolRef)) enqueue(objectKey(c));
    },
  });
  addresses.addHandlers({
    onAdd: (a) => {
      if (!started()) return;
      registry.observeAddress(a);
      enqueue(objectKey(a));
    },
    onUpdate: (_o, a) => {
      if (!started()) return;
      registry.observeAddress(a);
      if (claims.cache.get(objectKey(a)) || isOrphanCandidate(a)) enqueue(objectKey(a));
    },
    onDelete: (a) => {
      if (!started()) return;
      registry.observeDeleted(a);
      if (claims.cache.get(objectKey(a))) enqueue(objectKey(a));
    },
    onListed: (rv) => {
      if (started()) registry.forgetUnlisted((key) => addresses.cache.get(key) !== undefined, rv);
    },
  });
  for (const { kind, informer } of pools) {
    informer.addHandlers({
      onAdd: (p) => {
        if (!started()) return;
        registry.upsertPool(kind, p);
        enqueuePool(poolKeyOfPool(p, kind));
      },
      onUpdate: (old, p) => {
        if (!started()) return;
        registry.upsertPool(kind, p);
        const unpaused = isPaused(old) && !isPaused(p);
        if (unpaused || JSON.stringify(old.spec) !== JSON.stringify(p.spec))
          enqueuePool(poolKeyOfPool(p, kind));
      },
      onDelete: (p) => {
        if (!started()) return;
        registry.removePool(kind, p);
        deps.poolGone(poolKeyOfPool(p, kind));
        enqueuePool(poolKeyOfPool(p, kind));
      },
    });
  }
  // A namespace whose labels change may now be selected (or not) by a pool its claims wait on.
  const namespaceChanged = (n: Live<KubeObject>) => {
    if (!started()) return;
    const name = n.metadata.name;
    for (const c of claims.cache.list())
      if (c.metadata.namespace === name && handlesPoolRef(c.spec?.poolRef)) {
        const pool = registry.get(poolKeyOfRef(c.spec.poolRef, name));
        if (pool?.namespaceSelector !== undefined) enqueue(objectKey(c));
      }
  };
  namespaces.addHandlers({
    onAdd: namespaceChanged,
    onUpdate: (o, n) => {
      if (JSON.stringify(o.metadata.labels ?? {}) !== JSON.stringify(n.metadata.labels ?? {}))
        namespaceChanged(n);
    },
  });
}

/**
 * The pool registry with its hooks: a changed pool is marked for the status writer, a released
 * address wakes the claims waiting on its pool, and a duplicate is counted, logged and — by the
 * leader — reported on the pool.
 */
export function newPoolRegistry(deps: {
  metrics: Metrics;
  log: Logger;
  enqueue(key: string): void;
  mark(pool: PoolState): void;
  recorder: EventRecorder;
  leading(): boolean;
  /** An address of `pool` became free, or the pool was (re)built. */
  released?(pool: PoolState): void;
}): PoolRegistry {
  const { metrics, log, enqueue } = deps;
  return new PoolRegistry(bitmapAllocator, {
    onChanged: (p) => deps.mark(p),
    onReleased: (p) => {
      for (const key of p.waiting) enqueue(key);
      p.waiting.clear();
      deps.released?.(p);
    },
    onDuplicate: (p, address, holders) => {
      metrics.duplicates.inc({ pool: p.key });
      log.error(
        { pool: p.key, address, IPAddresses: holders },
        'two IPAddresses hold the same address of one pool',
      );
      if (deps.leading())
        deps.recorder.warning(
          p.pool as never,
          'DuplicateAddress',
          `Address ${address} is held by several IPAddresses: ${holders.join(', ')}`,
        );
    },
  });
}
