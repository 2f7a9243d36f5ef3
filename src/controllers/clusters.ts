/**
 * Cluster API's Clusters, cached for the claims that name one: a missing Cluster holds its claims
 * back, a paused one pauses them. Cluster API may be installed after us; then its Cluster kind is
 * looked for again until it is served, and its cache joins the others without a restart.
 */
import type { Logger } from 'pino';
import { CLUSTER_GROUP, KIND_CLUSTER } from '../api/constants.js';
import { type Cache, Informer, type KubeClient, objectKey, type ResourceDescriptor } from '../kube/index.js';
import { clusterNameOf, isPaused } from './claim-rules.js';
import type { LiveClaim, LiveCluster } from './context.js';
import { CAPI_VERSIONS, KindWatch } from './discovery.js';

/** The claims' index by the Cluster they name (`namespace/name`). */
export const CLAIM_CLUSTER_INDEX = 'cluster';

export function claimClusterIndex(claim: LiveClaim): string[] {
  const name = clusterNameOf(claim);
  return name ? [`${claim.metadata.namespace}/${name}`] : [];
}

export interface ClusterCacheOptions {
  client: KubeClient;
  log: Logger;
  namespace: string | undefined;
  transform: (cluster: LiveCluster) => LiveCluster;
  /** The version served at the start; undefined when the Cluster kind was not served then. */
  version: string | undefined;
  claims: Informer<LiveClaim>;
  /** Queues a claim's key (the manager queues only while it leads). */
  enqueue(key: string): void;
  /** Whether the registry was rebuilt from the synced caches: handlers act only from then on. */
  started(): boolean;
  /** While the kind is not served: the first wait between looks, backing off to three times it. */
  discoveryIntervalMs: number;
  signal: AbortSignal;
  /** An informer made after the start: the manager stops it with the others and lists it again on leadership. */
  adopt(informer: Informer<LiveCluster>): void;
  /** Its cache synced: from now on reconcilers read Clusters from it (ctx.clusters, ctx.clusterResource). */
  onCached(cache: Cache<LiveCluster>, resource: ResourceDescriptor): void;
  /** Every Cluster added (old undefined), changed, or deleted (cluster undefined), once started. */
  onChange?(old: LiveCluster | undefined, cluster: LiveCluster | undefined): void;
}

export class ClusterCache {
  /** Made at the start when the kind was served then; it syncs with the other caches. */
  readonly informer: Informer<LiveCluster> | undefined;
  private readonly watch: KindWatch | undefined;
  private cached = false;

  constructor(private readonly opts: ClusterCacheOptions) {
    if (opts.version) {
      this.informer = this.newInformer(opts.version);
      this.follow(this.informer);
      return;
    }
    opts.log.info(
      { group: CLUSTER_GROUP },
      "Cluster API's Cluster kind is not served; claims naming a Cluster wait until it is, and discovery is asked again now and then",
    );
    this.watch = new KindWatch({
      client: opts.client,
      log: opts.log,
      group: CLUSTER_GROUP,
      plural: 'clusters',
      versions: CAPI_VERSIONS,
      intervalMs: opts.discoveryIntervalMs,
      maxIntervalMs: 3 * opts.discoveryIntervalMs,
      signal: opts.signal,
      onServed: (version) => void this.cacheLate(version),
    });
  }

  /** A claim changed: one naming a Cluster while none are cached suggests Cluster API just came. */
  claimSeen(claim: LiveClaim): void {
    if (this.watch && !this.cached && clusterNameOf(claim)) this.watch.prompt();
  }

  private newInformer(version: string): Informer<LiveCluster> {
    const resource: ResourceDescriptor = {
      group: CLUSTER_GROUP,
      version,
      plural: 'clusters',
      namespaced: true,
      kind: KIND_CLUSTER,
    };
    return new Informer<LiveCluster>(this.opts.client, resource, {
      namespace: this.opts.namespace,
      logger: this.opts.log,
      transform: this.opts.transform,
    });
  }

  /**
   * A Cluster added, unpaused or deleted: its claims may go on (or, being deleted, go). Every change
   * is also passed on (onChange), for the Clusters' own control-plane endpoints.
   */
  private follow(informer: Informer<LiveCluster>): void {
    const { claims, enqueue, started, onChange } = this.opts;
    const paused = (c: LiveCluster) => c.spec?.paused === true || isPaused(c);
    const enqueueClaims = (c: LiveCluster) => {
      if (!started()) return;
      for (const claim of claims.cache.byIndex(CLAIM_CLUSTER_INDEX, objectKey(c))) enqueue(objectKey(claim));
    };
    const changed = (old: LiveCluster | undefined, c: LiveCluster | undefined) => {
      if (started()) onChange?.(old, c);
    };
    informer.addHandlers({
      onAdd: (c) => {
        enqueueClaims(c);
        changed(undefined, c);
      },
      onUpdate: (old, c) => {
        if (paused(old) && !paused(c)) enqueueClaims(c);
        changed(old, c);
      },
      onDelete: (c) => {
        enqueueClaims(c);
        changed(c, undefined);
      },
    });
  }

  /**
   * The kind is served now: list Clusters, hand the cache to the reconcilers, then reconcile the
   * claims of every Cluster listed, which were waiting for it.
   */
  private async cacheLate(version: string): Promise<void> {
    const { log, signal } = this.opts;
    if (signal.aborted) return;
    log.info({ clusterVersion: version }, "Cluster API's Cluster kind is served now; caching Clusters");
    const informer = this.newInformer(version);
    this.opts.adopt(informer);
    informer.start();
    if (!(await informer.waitForSync(signal))) return;
    this.cached = true;
    this.opts.onCached(informer.cache, informer.resource);
    // Handlers added after the list get every cached Cluster as an add, which enqueues its claims.
    this.follow(informer);
    log.info({ Clusters: informer.cache.size }, 'Clusters cached; claims naming them are reconciled again');
  }
}
