/**
 * Wires the provider: informers for claims, IPAddresses, the four pool kinds and Clusters; the pool
 * registry rebuilt from complete lists once they synced; the claim workers and the pool status
 * writer. Nothing is allocated before every cache has synced.
 */
import type { Logger } from 'pino';
import {
  CAPI_VERSION_V1BETA1,
  CAPI_VERSION_V1BETA2,
  CLUSTER_GROUP,
  IPAM_GROUP,
  isIPPoolKind,
  KIND_CLUSTER,
  KIND_IP_ADDRESS,
  KIND_IP_ADDRESS_CLAIM,
} from '../api/constants.js';
import type { IPPool } from '../api/ippool-types.js';
import type { KnownPool } from '../api/warnings.js';
import {
  EventRecorder,
  Informer,
  type KubeClient,
  type ResourceDescriptor,
  runWorkers,
  StringInterner,
  slimForCache,
  type WorkerPool,
  WorkQueue,
} from '../kube/index.js';
import { type Metrics, queueMetrics } from '../observability/metrics.js';
import { cacheRecords } from './cache-records.js';
import {
  clusterNameOf,
  handlesPoolRef,
  isPaused,
  objectKey,
  poolKey,
  poolKeyOfPool,
  poolKeyOfRef,
} from './claim-rules.js';
import type { ControllerContext, Live, LiveAddress, LiveClaim, LiveCluster } from './context.js';
import { servedPoolKinds, servedVersion } from './discovery.js';
import { PoolStatusWriter, poolResource } from './inclusterippool.js';
import { claimReconciler } from './ipaddressclaim.js';
import { isOrphanCandidate } from './orphans.js';
import { bitmapAllocator, PoolRegistry } from './pool-registry.js';
import type { PoolObject } from './pool-state.js';

export interface ManagerOptions {
  client: KubeClient;
  log: Logger;
  metrics: Metrics;
  /** Restrict namespaced objects to one namespace (--namespace). */
  namespace?: string;
  watchFilter?: string;
  claimConcurrency: number;
  statusWindowMs?: number;
  /** Called once the caches synced. */
  onSynced?(): void;
  /** While the initial lists are read: how many claims and IPAddresses they will hold. */
  onListProgress?(expectedObjects: number): void;
}

const CLAIM_POOL_INDEX = 'poolKey';
const CLAIM_CLUSTER_INDEX = 'cluster';

/** What the caches phase hands to the reconciling phase. */
interface CacheSet {
  ctx: ControllerContext;
  claims: Informer<LiveClaim>;
  registry: PoolRegistry;
  all: { relist(): Promise<void> }[];
}

/** The controller's name in logs and metrics, as the Go provider's controller-runtime names it. */
const CLAIM_CONTROLLER = 'ipaddressclaim';

export class Manager {
  readonly queue: WorkQueue<string>;
  private readonly informers: { stop(): Promise<void> }[] = [];
  private workers: WorkerPool | undefined;
  private statusWriter: PoolStatusWriter | undefined;
  private recorder: EventRecorder;
  private started = false;
  private registry: PoolRegistry | undefined;
  private synced = false;
  private leading = false;
  private caches: { readonly size: number }[] = [];
  private caching: Promise<CacheSet | undefined> | undefined;

  constructor(private readonly opts: ManagerOptions) {
    this.queue = new WorkQueue<string>({ metrics: queueMetrics(opts.metrics, CLAIM_CONTROLLER) });
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
    const caches = await this.caching;
    if (!caches || signal.aborted) return;
    if (startedBefore) {
      await Promise.all(caches.all.map((i) => i.relist()));
      if (signal.aborted) return;
      this.opts.log.info({}, 'caches listed again for leadership');
    }
    this.leading = true;
    this.startReconciling(caches);
  }

  private async buildCaches(signal: AbortSignal): Promise<CacheSet | undefined> {
    const { client, log, metrics } = this.opts;
    const capiVersion = await servedVersion(client, IPAM_GROUP, 'ipaddressclaims', [
      CAPI_VERSION_V1BETA2,
      CAPI_VERSION_V1BETA1,
    ]);
    if (!capiVersion)
      throw new Error(`${IPAM_GROUP} IPAddressClaim is not served: install Cluster API first`);
    const clusterVersion = await servedVersion(client, CLUSTER_GROUP, 'clusters', ['v1beta2', 'v1beta1']);
    log.info({ claimVersion: capiVersion, clusterVersion }, 'discovered Cluster API versions');
    const res = (
      kind: string,
      plural: string,
      group = IPAM_GROUP,
      version = capiVersion,
    ): ResourceDescriptor => ({
      group,
      version,
      plural,
      namespaced: true,
      kind,
    });
    const claimResource = res(KIND_IP_ADDRESS_CLAIM, 'ipaddressclaims');
    const addressResource = res(KIND_IP_ADDRESS, 'ipaddresses');
    const ns = this.opts.namespace;
    // managedFields are most of an object's bytes and we never read them; repeated strings are
    // shared: one transform (and one string table) for every cache.
    const strings = new StringInterner();
    const slim = slimForCache(strings);
    // Claims and IPAddresses are the many: their caches keep compact records (cache-records.ts).
    const records = cacheRecords(strings);
    const expected = { claims: 0, addresses: 0 };
    const progress = (kind: keyof typeof expected) => (n: number) => {
      expected[kind] = n;
      this.opts.onListProgress?.(expected.claims + expected.addresses);
    };
    const claims = new Informer<LiveClaim>(client, claimResource, {
      namespace: ns,
      logger: log,
      transform: (c) => records.claim(c),
      onListProgress: progress('claims'),
      indexers: {
        [CLAIM_POOL_INDEX]: (c) =>
          handlesPoolRef(c.spec?.poolRef) ? [poolKeyOfRef(c.spec.poolRef, c.metadata.namespace)] : [],
        [CLAIM_CLUSTER_INDEX]: (c) => {
          const name = clusterNameOf(c);
          return name ? [`${c.metadata.namespace}/${name}`] : [];
        },
      },
    });
    const addresses = new Informer<LiveAddress>(client, addressResource, {
      namespace: ns,
      logger: log,
      transform: (a) => records.address(a),
      onListProgress: progress('addresses'),
    });
    const pools = (await servedPoolKinds(client, log)).map((kind) => {
      const r = poolResource(kind);
      return {
        kind,
        informer: new Informer<Live<PoolObject>>(client, r, {
          namespace: r.namespaced ? ns : undefined,
          logger: log,
          transform: slim,
        }),
      };
    });
    const clusters = clusterVersion
      ? new Informer<LiveCluster>(client, res(KIND_CLUSTER, 'clusters', CLUSTER_GROUP, clusterVersion), {
          namespace: ns,
          logger: log,
          transform: slim,
        })
      : undefined;

    // Only a leader reconciles; a replica standing by keeps its caches and registry current.
    const enqueue = (key: string) => {
      if (this.leading) this.queue.add(key);
    };
    const enqueuePool = (poolKey: string) => {
      for (const c of claims.cache.byIndex(CLAIM_POOL_INDEX, poolKey)) enqueue(objectKey(c));
    };
    const registry = new PoolRegistry(bitmapAllocator, {
      onChanged: (p) => this.statusWriter?.mark(p),
      onReleased: (p) => {
        for (const key of p.waiting) enqueue(key);
        p.waiting.clear();
      },
      onDuplicate: (p, address, holders) => {
        metrics.duplicates.inc({ pool: p.key });
        log.error(
          { pool: p.key, address, IPAddresses: holders },
          'two IPAddresses hold the same address of one pool',
        );
        if (this.leading)
          this.recorder.warning(
            p.pool as never,
            'DuplicateAddress',
            `Address ${address} is held by several IPAddresses: ${holders.join(', ')}`,
          );
      },
    });
    this.registry = registry;
    this.caches = [claims.cache, addresses.cache];
    const ctx: ControllerContext = {
      client,
      log: log.child({
        controller: CLAIM_CONTROLLER,
        controllerGroup: IPAM_GROUP,
        controllerKind: KIND_IP_ADDRESS_CLAIM,
      }),
      recorder: this.recorder,
      metrics,
      registry,
      claims: claims.cache,
      addresses: addresses.cache,
      clusters: clusters?.cache,
      claimResource,
      addressResource,
      capiApiVersion: `${IPAM_GROUP}/${capiVersion}`,
      watchFilter: this.opts.watchFilter,
      fieldManager: 'capi-ipam-in-cluster',
      now: () => Date.now(),
    };

    // Handlers act only once the registry was rebuilt from the synced caches (this.started).
    claims.addHandlers({
      onAdd: (c) => this.started && handlesPoolRef(c.spec?.poolRef) && enqueue(objectKey(c)),
      onUpdate: (_o, c) => this.started && handlesPoolRef(c.spec?.poolRef) && enqueue(objectKey(c)),
      // Not released here: a create for this claim may be in flight (the queue runs one reconcile
      // per key at a time), and its address freed under it would be handed out twice. The
      // reconciler, once the claim is gone, frees the reservation or releases what was created.
      onDelete: (c) => this.started && handlesPoolRef(c.spec?.poolRef) && enqueue(objectKey(c)),
    });
    addresses.addHandlers({
      onAdd: (a) => {
        if (!this.started) return;
        registry.observeAddress(a);
        enqueue(objectKey(a));
      },
      onUpdate: (_o, a) => {
        if (!this.started) return;
        registry.observeAddress(a);
        if (claims.cache.get(objectKey(a)) || isOrphanCandidate(a)) enqueue(objectKey(a));
      },
      onDelete: (a) => {
        if (!this.started) return;
        registry.observeDeleted(a);
        if (claims.cache.get(objectKey(a))) enqueue(objectKey(a));
      },
      onListed: (rv) => {
        if (this.started) registry.forgetUnlisted((key) => addresses.cache.get(key) !== undefined, rv);
      },
    });
    for (const { kind, informer } of pools) {
      informer.addHandlers({
        onAdd: (p) => {
          if (!this.started) return;
          registry.upsertPool(kind, p);
          enqueuePool(poolKeyOfPool(p, kind));
        },
        onUpdate: (old, p) => {
          if (!this.started) return;
          registry.upsertPool(kind, p);
          const unpaused = isPaused(old) && !isPaused(p);
          if (unpaused || JSON.stringify(old.spec) !== JSON.stringify(p.spec))
            enqueuePool(poolKeyOfPool(p, kind));
        },
        onDelete: (p) => {
          if (!this.started) return;
          registry.removePool(kind, p);
          enqueuePool(poolKeyOfPool(p, kind));
        },
      });
    }
    const clusterPaused = (c: LiveCluster) => c.spec?.paused === true || isPaused(c);
    clusters?.addHandlers({
      onAdd: (c) => this.started && this.enqueueByCluster(claims, objectKey(c)),
      onUpdate: (o, c) =>
        this.started && clusterPaused(o) && !clusterPaused(c) && this.enqueueByCluster(claims, objectKey(c)),
      onDelete: (c) => this.started && this.enqueueByCluster(claims, objectKey(c)),
    });

    const all = [claims, addresses, ...pools.map((p) => p.informer), ...(clusters ? [clusters] : [])];
    this.informers.push(...all);
    for (const i of all) i.start();
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
    return { ctx, claims, registry, all };
  }

  private startReconciling({ ctx, claims, registry }: CacheSet): void {
    const { log, metrics } = this.opts;
    this.statusWriter = new PoolStatusWriter(ctx, this.opts.statusWindowMs);
    for (const c of claims.cache.list()) if (handlesPoolRef(c.spec?.poolRef)) this.queue.add(objectKey(c));
    // IPAddresses whose claims went while no leader ran, or went as their address was made (see orphans.ts).
    for (const a of ctx.addresses.list())
      if (isOrphanCandidate(a) && !claims.cache.get(objectKey(a))) this.queue.add(objectKey(a));
    for (const p of registry.all()) this.statusWriter.mark(p);
    const controller = { controller: CLAIM_CONTROLLER };
    metrics.maxConcurrentReconciles.set(controller, this.opts.claimConcurrency);
    this.workers = runWorkers(this.queue, claimReconciler(ctx), {
      workers: this.opts.claimConcurrency,
      logger: log,
      name: CLAIM_CONTROLLER,
      onStarted: () => metrics.activeWorkers.inc(controller),
      onReconciled: (result, ms) => {
        metrics.activeWorkers.dec(controller);
        metrics.reconciles.inc({ ...controller, result });
        if (result === 'error') metrics.reconcileErrors.inc(controller);
        metrics.reconcileSeconds.observe(controller, ms / 1000);
      },
    });
  }

  private enqueueByCluster(claims: Informer<LiveClaim>, clusterKey: string): void {
    for (const c of claims.cache.byIndex(CLAIM_CLUSTER_INDEX, clusterKey)) this.queue.add(objectKey(c));
  }

  /** drain: finish queued work and pending status writes (clean stop); else stop at once (lost lease). */
  /** Resolves once every Event recorded so far has been written (or has failed). */
  flushEvents(): Promise<void> {
    return this.recorder.flush();
  }

  async stop({ drain }: { drain: boolean }): Promise<void> {
    if (this.workers) await this.workers.stop({ drain });
    else this.queue.shutDown();
    if (drain) await this.statusWriter?.stop();
    await Promise.all(this.informers.map((i) => i.stop()));
    if (drain) await this.recorder.flush();
  }
}
