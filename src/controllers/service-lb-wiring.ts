/**
 * The Service load-balancer controller as the manager runs it (service-lb.ts reconciles): made
 * only with --service-lb-class or --service-lb-default — without them no Service is watched and
 * nothing is ever released — its Service informer, its queue and its workers.
 */
import type { Logger } from 'pino';
import { type Cache, Informer, type KubeClient, type WorkerPool, WorkQueue } from '../kube/index.js';
import { type Metrics, queueMetrics } from '../observability/metrics.js';
import type { ControllerContext, LiveClaim } from './context.js';
import { runController } from './controller-workers.js';
import {
  SERVICE_LB_CONTROLLER,
  SERVICE_LB_CONTROLLER_KEYS,
  SERVICE_RESOURCE,
  serviceLbReconciler,
} from './service-lb.js';
import {
  CLAIM_SERVICE_INDEX,
  claimServiceIndex,
  type LiveService,
  type ServiceLbOptions,
  serviceKeyOfChange,
} from './service-lb-rules.js';
import {
  LABEL_SERVICE_LB_SHARED_KEY,
  SERVICE_SHARING_INDEX,
  serviceSharingIndex,
} from './service-lb-slots.js';

/**
 * Reconciles of Services at once. Each waits on the API server most of its time (a claim, then
 * the Service's metadata and status). Measured with bench:e2e:services (1,000 Services): 2 workers
 * kept ~3 requests in flight at the server and took 1.95× the baseline's time, 16 took 1.80×
 * (first address after 14 s: the queue's first pass made every claim before any address was
 * written), 48 took 1.17× (first address after 4 s).
 */
const SERVICE_WORKERS = 48;

export class ServiceLoadBalancers {
  /** Services (namespace/name) whose load-balancer address to reconcile. */
  readonly queue: WorkQueue<string>;
  private informer: Informer<LiveService> | undefined;
  private workers: WorkerPool | undefined;
  /** Services refused for want of a pool with a free address. */
  private readonly waitingForPool = new Set<string>();

  private constructor(
    private readonly options: ServiceLbOptions,
    private readonly metrics: Metrics,
  ) {
    this.queue = new WorkQueue<string>({ metrics: queueMetrics(metrics, SERVICE_LB_CONTROLLER) });
  }

  /** Undefined without either flag: no informer, no queue, nothing ever released. */
  static from(options: ServiceLbOptions | undefined, metrics: Metrics): ServiceLoadBalancers | undefined {
    if (!options?.className && !options?.serveDefault) return undefined;
    return new ServiceLoadBalancers(options, metrics);
  }

  /** The Service informer (of --namespace only, if set); it queues keys only while `leading()`. */
  watch(opts: {
    client: KubeClient;
    log: Logger;
    namespace: string | undefined;
    transform: <T extends LiveService>(obj: T) => T;
    claims: Cache<LiveClaim>;
    leading: () => boolean;
  }): Informer<LiveService> {
    const informer = new Informer<LiveService>(opts.client, SERVICE_RESOURCE, {
      namespace: opts.namespace,
      logger: opts.log,
      transform: opts.transform,
      indexers: { [SERVICE_SHARING_INDEX]: serviceSharingIndex },
    });
    const hasClaim = (key: string) => opts.claims.byIndex(CLAIM_SERVICE_INDEX, key).length > 0;
    const changed = (old: LiveService | undefined, svc: LiveService | undefined) => {
      const key = serviceKeyOfChange(old, svc, this.options, hasClaim);
      if (key === undefined || !opts.leading()) return;
      this.queue.add(key);
      // Its sharers, before and after: a port, pin or key that changed, or a sharer that went,
      // may let a waiting one share, or make one lose.
      const groups = new Set([
        ...(old ? serviceSharingIndex(old) : []),
        ...(svc ? serviceSharingIndex(svc) : []),
      ]);
      for (const group of groups) this.enqueueGroup(group);
    };
    informer.addHandlers({
      onAdd: (s) => changed(undefined, s),
      onUpdate: (o, s) => changed(o, s),
      onDelete: (s) => changed(s, undefined),
    });
    this.informer = informer;
    return informer;
  }

  /**
   * Reconciles from now on: every served Service, and every Service with a claim or our condition
   * (one deleted or changed while no leader ran has its claim released).
   */
  start(ctx: ControllerContext, log: Logger): void {
    const services = this.informer?.cache;
    if (!services) return;
    const keys = new Set(ctx.claims.indexValues(CLAIM_SERVICE_INDEX));
    for (const s of services.list()) {
      const key = serviceKeyOfChange(undefined, s, this.options, () => false);
      if (key !== undefined) keys.add(key);
    }
    for (const key of keys) this.queue.add(key);
    const reconcile = serviceLbReconciler(
      ctx,
      services,
      this.options,
      log.child(SERVICE_LB_CONTROLLER_KEYS),
      this.waitingForPool,
    );
    this.workers = runController(this.queue, reconcile, {
      name: SERVICE_LB_CONTROLLER,
      workers: SERVICE_WORKERS,
      metrics: this.metrics,
      log,
    });
  }

  /** A claim of Services changed: its owners, and for a shared one every Service of its key. */
  claimChanged(claim: LiveClaim): void {
    for (const key of claimServiceIndex(claim)) this.queue.add(key);
    const label = claim.metadata.labels?.[LABEL_SERVICE_LB_SHARED_KEY];
    if (label !== undefined) this.enqueueGroup(`${claim.metadata.namespace}/${label}`);
  }

  private enqueueGroup(group: string): void {
    for (const s of this.informer?.cache.byIndex(SERVICE_SHARING_INDEX, group) ?? [])
      this.queue.add(`${s.metadata.namespace}/${s.metadata.name}`);
  }

  /** A pool freed an address, or was made or changed: Services that found no pool look again. */
  poolFreed(): void {
    for (const key of this.waitingForPool) this.queue.add(key);
    this.waitingForPool.clear();
  }

  stop(drain: boolean): Promise<void> | void {
    return this.workers ? this.workers.stop({ drain }) : this.queue.shutDown();
  }
}
