/**
 * Wires the provider: informers for claims, IPAddresses, the four pool kinds, Clusters (and Services
 * with the load-balancer flags); the pool registry rebuilt from complete lists once they synced; the
 * claim workers, the pool status writer, the control-plane endpoint and Service workers. Nothing is
 * allocated before every cache has synced, and a leader whose caches cannot sync within the
 * deadline gives up rather than hold the lease doing nothing.
 */
import type { Logger } from 'pino';
import { IPAM_GROUP, isIPPoolKind, KIND_IP_ADDRESS_CLAIM } from '../api/constants.js';
import type { IPPool } from '../api/ippool-types.js';
import type { KnownPool } from '../api/warnings.js';
import {
  EventRecorder,
  type Informer,
  type KubeClient,
  type KubeObject,
  type WorkerPool,
  WorkQueue,
} from '../kube/index.js';
import { type Metrics, queueMetrics } from '../observability/metrics.js';
import { DEFAULT_CACHE_SYNC_TIMEOUT_MS, withinSyncDeadline } from './cache-sync.js';
import { handlesPoolRef, heldInOurPool, objectKey, poolKey } from './claim-rules.js';
import { countClaimsNotReady } from './claim-status.js';
import {
  clusterEndpointReconciler,
  ENDPOINT_CONTROLLER,
  ENDPOINT_CONTROLLER_KEYS,
  endpointKeysToReconcile,
} from './cluster-endpoint.js';
import { CLAIM_ENDPOINT_INDEX, endpointKeyOfClusterChange } from './cluster-endpoint-rules.js';
import { ClusterCache } from './clusters.js';
import type { ControllerContext, LiveClaim } from './context.js';
import { runController } from './controller-workers.js';
import { discoverServedKinds } from './discovery.js';
import { PoolStatusWriter } from './inclusterippool.js';
import { addInformerHandlers, newPoolRegistry } from './informer-handlers.js';
import { newInformers } from './informers.js';
import { claimReconciler } from './ipaddressclaim.js';
import type { PoolRegistry } from './pool-registry.js';
import type { ServiceLbOptions } from './service-lb-rules.js';
import { ServiceLoadBalancers } from './service-lb-wiring.js';

export interface ManagerOptions {
  client: KubeClient;
  log: Logger;
  metrics: Metrics;
  /** Restrict namespaced objects to one namespace (--namespace). */
  namespace?: string;
  watchFilter?: string;
  claimConcurrency: number;
  /**
   * Clusters' control-plane endpoints from pools (--cluster-endpoints, default true). Off, no
   * endpoint claim is made and no Cluster is ever written.
   */
  clusterEndpoints?: boolean;
  /** Services' load-balancer addresses (--service-lb-class, --service-lb-default); off: no Service watch. */
  serviceLoadBalancers?: ServiceLbOptions;
  statusWindowMs?: number;
  /**
   * How long the caches may take to sync — at the start, and when listed again on taking the lease
   * — before the manager gives up (controller-runtime's CacheSyncTimeout). Default 2 minutes.
   */
  cacheSyncTimeoutMs?: number;
  /**
   * While Cluster API's Cluster kind is not served: the first wait before discovery is asked again
   * (default 10 s), backing off to three times as long.
   */
  clusterDiscoveryIntervalMs?: number;
  /** Called once the caches synced. */
  onSynced?(): void;
  /** While the initial lists are read: how many claims and IPAddresses they will hold. */
  onListProgress?(expectedObjects: number): void;
}

const DEFAULT_CLUSTER_DISCOVERY_INTERVAL_MS = 10_000;

/** An informer as the manager stops it and lists it again for leadership. */
type AnyInformer = Pick<Informer<KubeObject>, 'resource' | 'relist' | 'stop'>;

/** What the caches phase hands to the reconciling phase. */
interface CacheSet {
  ctx: ControllerContext;
  claims: Informer<LiveClaim>;
  registry: PoolRegistry;
}

/** The controller's name in logs and metrics, as the Go provider's controller-runtime names it. */
const CLAIM_CONTROLLER = 'ipaddressclaim';
const CONTROLLER_KEYS = {
  controller: CLAIM_CONTROLLER,
  controllerGroup: IPAM_GROUP,
  controllerKind: KIND_IP_ADDRESS_CLAIM,
};

export class Manager {
  readonly queue: WorkQueue<string>;
  /** Clusters (namespace/name) whose control-plane endpoint to reconcile; none when switched off. */
  readonly endpointQueue: WorkQueue<string> | undefined;
  private endpointWorkers: WorkerPool | undefined;
  /** Services' load-balancer addresses; undefined without the flags. */
  readonly serviceLoadBalancers: ServiceLoadBalancers | undefined;
  /** Every informer started, also a Cluster informer made after the start. */
  private readonly informers: AnyInformer[] = [];
  private workers: WorkerPool | undefined;
  private statusWriter: PoolStatusWriter | undefined;
  private recorder: EventRecorder;
  private started = false;
  private registry: PoolRegistry | undefined;
  private synced = false;
  private leading = false;
  private caches: { readonly size: number }[] = [];
  private caching: Promise<CacheSet | undefined> | undefined;
  /** What the start waits for now, named when the sync deadline passes. */
  private waitingFor: () => string[] = () => ['API discovery'];
  /** Ends discovery, and keeps an informer from starting after stop(). */
  private readonly stopping = new AbortController();

  constructor(private readonly opts: ManagerOptions) {
    this.queue = new WorkQueue<string>({ metrics: queueMetrics(opts.metrics, CLAIM_CONTROLLER) });
    if (opts.clusterEndpoints !== false)
      this.endpointQueue = new WorkQueue<string>({
        metrics: queueMetrics(opts.metrics, ENDPOINT_CONTROLLER),
      });
    this.serviceLoadBalancers = ServiceLoadBalancers.from(opts.serviceLoadBalancers, opts.metrics);
    this.recorder = new EventRecorder({
      client: opts.client,
      component: 'capi-ipam-in-cluster-controller',
      logger: opts.log,
    });
  }

  /**
   * Addresses allocated (or reserved) from a pool, for the webhooks' update and delete checks;
   * undefined until the caches synced, so that a check never runs against a partial view.
   */
  allocatedAddresses(
    kind: string,
    namespace: string | undefined,
    name: string,
  ): readonly string[] | undefined {
    if (!this.synced || !this.registry) return undefined;
    return this.registry.get(poolKey(kind, namespace, name))?.addresses() ?? [];
  }

  /**
   * Who holds each address of a pool (address → namespace/name of the claim and its IPAddress),
   * for the webhooks' check that a new pin names no address another claim holds; undefined until
   * the caches synced.
   */
  addressHolders(
    kind: string,
    namespace: string | undefined,
    name: string,
  ): ReadonlyMap<string, string> | undefined {
    if (!this.synced || !this.registry) return undefined;
    const holders = new Map<string, string>();
    for (const [holder, address] of this.registry.get(poolKey(kind, namespace, name))?.holdings() ?? [])
      holders.set(address, holder);
    return holders;
  }

  /** Every pool in the registry, for the webhooks' overlap warning; undefined until synced. */
  knownPools(): KnownPool[] | undefined {
    if (!this.synced || !this.registry) return undefined;
    return [...this.registry.all()]
      .filter((p) => isIPPoolKind(p.kind))
      .map((p) => ({
        kind: p.kind,
        namespace: p.pool.metadata?.namespace,
        name: p.pool.metadata?.name ?? '',
        spec: (p.pool as IPPool).spec,
      }));
  }

  /** Claims and IPAddresses cached (0 before the informers started). */
  cachedObjects(): number {
    return this.caches.reduce((n, c) => n + c.size, 0);
  }

  /** True once every cache synced and the registry was rebuilt (for /readyz). */
  isSynced(): boolean {
    return this.synced;
  }

  /** Starts informers, waits for them, rebuilds every pool and starts reconciling. */
  async start(signal: AbortSignal): Promise<void> {
    await this.lead(signal);
  }

  /**
   * Caches and the registry without reconciling: a replica standing by for the lease keeps them
   * current, so that its webhooks answer pool updates and deletes. Starts once; later calls share it.
   */
  startCaches(signal: AbortSignal): Promise<boolean> {
    this.caching ??= this.buildCaches(signal);
    return this.caching.then((c) => c !== undefined);
  }

  /**
   * Reconciles from now on. Caches that were already filling before leadership began are listed
   * again first: their watches may lag behind what the previous leader wrote before it let go,
   * and allocating from that view could hand out an address twice.
   */
  async lead(signal: AbortSignal): Promise<void> {
    const startedBefore = this.caching !== undefined;
    this.caching ??= this.buildCaches(signal);
    const caching = this.caching;
    const synced = async (expired: AbortSignal) => {
      const caches = await caching;
      if (!caches || signal.aborted || expired.aborted) return undefined;
      if (startedBefore) await this.relistAll();
      return caches;
    };
    // A leader that cannot sync must not hold the lease doing nothing: past the deadline this
    // rejects, and the caller ends the process, which hands the lease on.
    const caches = await withinSyncDeadline(
      synced,
      this.opts.cacheSyncTimeoutMs ?? DEFAULT_CACHE_SYNC_TIMEOUT_MS,
      () => this.waitingFor(),
      this.opts.log.child(CONTROLLER_KEYS),
    );
    if (!caches || signal.aborted) return;
    this.leading = true;
    this.startReconciling(caches);
  }

  /** Lists every cache again; those not listed yet are what the deadline names. */
  private async relistAll(): Promise<void> {
    const pending = new Set(this.informers);
    this.waitingFor = () => [...pending].map((i) => i.resource.kind);
    await Promise.all([...pending].map((i) => i.relist().then(() => pending.delete(i))));
    this.opts.log.info({}, 'caches listed again for leadership');
  }

  private async buildCaches(signal: AbortSignal): Promise<CacheSet | undefined> {
    const stop = AbortSignal.any([signal, this.stopping.signal]);
    try {
      return await this.buildCachesUntil(stop);
    } catch (err) {
      if (stop.aborted) return undefined;
      throw err;
    }
  }

  private async buildCachesUntil(signal: AbortSignal): Promise<CacheSet | undefined> {
    const { client, log, metrics } = this.opts;
    // A discovery request that fails is asked again, never taken for "not served".
    const served = await discoverServedKinds(client, log, signal);
    const ns = this.opts.namespace;
    const { claims, addresses, pools, namespaces, ...informers } = newInformers({
      client,
      log,
      namespace: ns,
      served,
      onListProgress: this.opts.onListProgress,
    });
    // Only a leader reconciles; a replica standing by keeps its caches and registry current.
    const enqueue = (key: string) => {
      if (this.leading) this.queue.add(key);
    };
    const enqueueEndpoint = (key: string | undefined) => {
      if (key !== undefined && this.leading) this.endpointQueue?.add(key);
    };
    const services = this.serviceLoadBalancers?.watch({
      ...{ client, log, namespace: ns, transform: informers.slim, claims: claims.cache },
      leading: () => this.leading,
    });
    const clusters = new ClusterCache({
      client,
      log,
      namespace: ns,
      transform: informers.slim,
      version: served.clusterVersion,
      claims,
      enqueue,
      started: () => this.started,
      discoveryIntervalMs: this.opts.clusterDiscoveryIntervalMs ?? DEFAULT_CLUSTER_DISCOVERY_INTERVAL_MS,
      signal,
      adopt: (informer) => this.informers.push(informer),
      onCached: (cache, resource) => {
        ctx.clusters = cache;
        ctx.clusterResource = resource;
      },
      onChange: (old, c) =>
        enqueueEndpoint(
          endpointKeyOfClusterChange(
            old,
            c,
            (key) => claims.cache.byIndex(CLAIM_ENDPOINT_INDEX, key).length > 0,
          ),
        ),
    });
    const registry = newPoolRegistry({
      metrics,
      log,
      enqueue,
      mark: (p) => this.statusWriter?.mark(p),
      recorder: this.recorder,
      leading: () => this.leading,
      released: () => this.serviceLoadBalancers?.poolFreed(),
    });
    this.registry = registry;
    this.caches = [claims.cache, addresses.cache];
    const ctx: ControllerContext = {
      client,
      log: log.child(CONTROLLER_KEYS),
      recorder: this.recorder,
      metrics,
      registry,
      claims: claims.cache,
      addresses: addresses.cache,
      clusters: clusters.informer?.cache,
      clusterResource: clusters.informer?.resource,
      namespaces: namespaces.cache,
      claimResource: informers.claimResource,
      addressResource: informers.addressResource,
      capiApiVersion: `${IPAM_GROUP}/${served.claimVersion}`,
      watchFilter: this.opts.watchFilter,
      fieldManager: 'capi-ipam-in-cluster',
      now: () => Date.now(),
    };
    metrics.countClaimsNotReady = () => countClaimsNotReady(ctx);
    metrics.countDuplicates = () => new Map([...registry.all()].map((p) => [p.key, p.duplicates]));

    // Handlers act only once the registry was rebuilt from the synced caches (this.started).
    addInformerHandlers(
      { claims, addresses, pools, namespaces },
      {
        registry,
        started: () => this.started,
        enqueue,
        enqueueEndpoint,
        serviceClaimChanged: (c) => {
          if (this.leading) this.serviceLoadBalancers?.claimChanged(c);
        },
        claimSeen: (c) => clusters.claimSeen(c),
        poolGone: (key) => metrics.forgetPool(key),
      },
    );
    const all = [
      claims,
      addresses,
      namespaces,
      ...pools.map((p) => p.informer),
      ...(clusters.informer ? [clusters.informer] : []),
      ...(services ? [services] : []),
    ];
    this.informers.push(...all);
    for (const i of all) i.start();
    this.waitingFor = () => all.filter((i) => !i.hasSynced()).map((i) => i.resource.kind);
    const ok = (await Promise.all(all.map((i) => i.waitForSync(signal)))).every(Boolean);
    if (!ok) return undefined;

    // Synchronous from here to `started = true`: no event can slip between rebuild and handlers.
    for (const { kind, informer } of pools)
      for (const p of informer.cache.list()) registry.upsertPool(kind, p);
    for (const a of addresses.cache.list()) registry.observeAddress(a);
    this.started = true;
    this.synced = true;
    log.info(
      { pools: pools.reduce((n, p) => n + p.informer.cache.size, 0), IPAddresses: addresses.cache.size },
      'caches synced; pools rebuilt',
    );
    this.opts.onSynced?.();
    return { ctx, claims, registry };
  }

  private startReconciling({ ctx, claims, registry }: CacheSet): void {
    const { log, metrics } = this.opts;
    this.statusWriter = new PoolStatusWriter(ctx, this.opts.statusWindowMs);
    for (const c of claims.cache.list()) if (handlesPoolRef(c.spec?.poolRef)) this.queue.add(objectKey(c));
    // IPAddresses of our pools without a claim: their claims went while no leader ran, or went as
    // their address was made just before the last leader died (see orphans.ts). The cache cannot
    // tell which of them we wrote — the garbage collector strips a gone claim's owner reference,
    // and the cache drops managedFields — so each is judged from the API, once per leadership.
    for (const a of ctx.addresses.list())
      if (heldInOurPool(a.spec?.poolRef) && !claims.cache.get(objectKey(a))) this.queue.add(objectKey(a));
    for (const p of registry.all()) this.statusWriter.mark(p);
    this.workers = runController(this.queue, claimReconciler(ctx), {
      name: CLAIM_CONTROLLER,
      workers: this.opts.claimConcurrency,
      metrics,
      log,
    });
    this.serviceLoadBalancers?.start(ctx, log);
    if (!this.endpointQueue) return;
    // Clusters asking for an endpoint, and those whose claim outlived them while no leader ran.
    for (const key of endpointKeysToReconcile(ctx)) this.endpointQueue.add(key);
    this.endpointWorkers = runController(
      this.endpointQueue,
      clusterEndpointReconciler(ctx, log.child(ENDPOINT_CONTROLLER_KEYS)),
      { name: ENDPOINT_CONTROLLER, workers: 2, metrics, log },
    );
  }

  /** Resolves once every Event recorded so far has been written (or has failed). */
  flushEvents(): Promise<void> {
    return this.recorder.flush();
  }

  /** drain: finish queued work and pending status writes (clean stop); else stop at once (lost lease). */
  async stop({ drain }: { drain: boolean }): Promise<void> {
    this.stopping.abort();
    const stopWorkers = (w: WorkerPool | undefined, q: WorkQueue<string> | undefined) =>
      w ? w.stop({ drain }) : q?.shutDown();
    await Promise.all([
      stopWorkers(this.workers, this.queue),
      stopWorkers(this.endpointWorkers, this.endpointQueue),
      this.serviceLoadBalancers?.stop(drain),
    ]);
    if (drain) await this.statusWriter?.stop();
    else this.statusWriter?.abandon();
    await Promise.all(this.informers.map((i) => i.stop()));
    if (drain) await this.recorder.flush();
  }
}
