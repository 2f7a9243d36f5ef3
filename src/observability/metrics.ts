/**
 * Prometheus metrics of the provider. Names follow the controller-runtime style
 * (`<subsystem>_<what>_<unit>`) so dashboards for Cluster API providers feel familiar.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** client-go's workqueue buckets: 10 ns to 1,000 s, by tens. */
const QUEUE_BUCKETS = Array.from({ length: 12 }, (_, i) => Number((1e-8 * 10 ** i).toPrecision(1)));

export class Metrics {
  readonly registry = new Registry();
  readonly allocations = new Counter({
    name: 'ipam_address_allocations_total',
    help: 'Addresses handed out to claims, per pool.',
    labelNames: ['pool'] as const,
    registers: [this.registry],
  });
  readonly releases = new Counter({
    name: 'ipam_address_releases_total',
    help: 'Addresses released by deleted claims, per pool.',
    labelNames: ['pool'] as const,
    registers: [this.registry],
  });
  readonly orphansReleased = new Counter({
    name: 'ipam_orphaned_addresses_released_total',
    help: 'IPAddresses released because their claim was gone (deleted as its address was made, or its finalizer removed by hand), per pool.',
    labelNames: ['pool'] as const,
    registers: [this.registry],
  });
  readonly duplicates = new Counter({
    name: 'ipam_duplicate_addresses_total',
    help: 'Times two IPAddresses were seen holding one address of one pool (made outside this controller).',
    labelNames: ['pool'] as const,
    registers: [this.registry],
  });
  readonly clusterEndpoints = new Counter({
    name: 'ipam_cluster_endpoint_actions_total',
    help: "What the control-plane endpoint controller did for Clusters: claimed (made a Cluster's IPAddressClaim), written (its spec.controlPlaneEndpoint and topology variable), unpaused, refused (left the Cluster alone, with a warning Event), released (deleted the claim of a Cluster that is gone).",
    labelNames: ['action'] as const,
    registers: [this.registry],
  });
  readonly serviceLoadBalancers = new Counter({
    name: 'ipam_service_lb_actions_total',
    help: "What the Service load-balancer controller did: claimed (made a Service's IPAddressClaim), assigned (wrote its address into the Service), refused (left it without an address, with a warning Event and its condition False), released (deleted the claim of a Service no longer served or gone).",
    labelNames: ['action'] as const,
    registers: [this.registry],
  });
  /** Set once the caches exist: claims not Ready, by `pool\0reason`, counted when scraped. */
  countClaimsNotReady: (() => Map<string, number>) | undefined;
  readonly claimsNotReady = new Gauge({
    name: 'ipam_claims_not_ready',
    help:
      'IPAddressClaims this provider handles whose Ready condition is not True, by pool (the claim’s ' +
      'poolRef, keyed as the other ipam_ metrics) and reason (the Ready reason; NotReconciled while a ' +
      'claim has no Ready condition, e.g. waiting for its Cluster).',
    labelNames: ['pool', 'reason'] as const,
    registers: [this.registry],
    // Counted from the claim cache at scrape time: no bookkeeping on the claim path.
    collect: () => {
      this.claimsNotReady.reset();
      for (const [key, n] of this.countClaimsNotReady?.() ?? []) {
        const [pool = '', reason = ''] = key.split('\0');
        this.claimsNotReady.set({ pool, reason }, n);
      }
    },
  });
  /** Set once the registry exists: pool key → IPAddresses sharing an address with another, now. */
  countDuplicates: (() => Map<string, number>) | undefined;
  readonly duplicatesNow = new Gauge({
    name: 'ipam_pool_duplicate_addresses',
    help:
      'IPAddresses of a pool holding an address another IPAddress of it holds too, now (made outside this ' +
      'controller); 0 once one of each pair is gone.',
    labelNames: ['pool'] as const,
    registers: [this.registry],
    // Counted from the registry at scrape time (each pool knows it in O(1)).
    collect: () => {
      this.duplicatesNow.reset();
      for (const [pool, n] of this.countDuplicates?.() ?? []) this.duplicatesNow.set({ pool }, n);
    },
  });
  readonly poolAddresses = new Gauge({
    name: 'ipam_pool_addresses',
    help: 'Addresses of a pool by state (total, used, free, outOfRange); capped at int64 like the status.',
    labelNames: ['pool', 'state'] as const,
    registers: [this.registry],
  });
  /** A deleted pool's series go, or IPAMPoolFull (and the dashboard) would show it until a restart. */
  forgetPool(pool: string): void {
    this.duplicatesNow.remove({ pool });
    for (const state of ['total', 'used', 'free', 'outOfRange', 'preAllocated'])
      this.poolAddresses.remove({ pool, state });
  }
  readonly reconciles = new Counter({
    name: 'controller_runtime_reconcile_total',
    help: 'Reconciles per controller and result.',
    labelNames: ['controller', 'result'] as const,
    registers: [this.registry],
  });
  readonly reconcileSeconds = new Histogram({
    name: 'controller_runtime_reconcile_time_seconds',
    help: 'Time per reconcile.',
    labelNames: ['controller'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });
  readonly statusWrites = new Counter({
    name: 'ipam_pool_status_writes_total',
    help: 'Pool status writes (coalesced: a burst of allocations makes few writes).',
    registers: [this.registry],
  });

  // controller-runtime's and client-go's own metrics, with their names and labels, so that the
  // dashboards and alerts written for Cluster API providers (the Go provider serves exactly these)
  // keep working.
  readonly reconcileErrors = new Counter({
    name: 'controller_runtime_reconcile_errors_total',
    help: 'Total number of reconciliation errors per controller.',
    labelNames: ['controller'] as const,
    registers: [this.registry],
  });
  readonly maxConcurrentReconciles = new Gauge({
    name: 'controller_runtime_max_concurrent_reconciles',
    help: 'Maximum number of concurrent reconciles per controller.',
    labelNames: ['controller'] as const,
    registers: [this.registry],
  });
  readonly activeWorkers = new Gauge({
    name: 'controller_runtime_active_workers',
    help: 'Number of currently used workers per controller.',
    labelNames: ['controller'] as const,
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: 'workqueue_depth',
    help: 'Current depth of workqueue.',
    labelNames: ['name', 'controller'] as const,
    registers: [this.registry],
  });
  readonly queueAdds = new Counter({
    name: 'workqueue_adds_total',
    help: 'Total number of adds handled by workqueue.',
    labelNames: ['name', 'controller'] as const,
    registers: [this.registry],
  });
  readonly queueLatency = new Histogram({
    name: 'workqueue_queue_duration_seconds',
    help: 'How long in seconds an item stays in workqueue before being requested.',
    labelNames: ['name', 'controller'] as const,
    buckets: QUEUE_BUCKETS,
    registers: [this.registry],
  });
  readonly workDuration = new Histogram({
    name: 'workqueue_work_duration_seconds',
    help: 'How long in seconds processing an item from workqueue takes.',
    labelNames: ['name', 'controller'] as const,
    buckets: QUEUE_BUCKETS,
    registers: [this.registry],
  });
  readonly unfinishedWork = new Gauge({
    name: 'workqueue_unfinished_work_seconds',
    help: 'How many seconds of work has been done that is in progress and has not been observed by work_duration.',
    labelNames: ['name', 'controller'] as const,
    registers: [this.registry],
  });
  readonly longestRunning = new Gauge({
    name: 'workqueue_longest_running_processor_seconds',
    help: 'How many seconds has the longest running processor for workqueue been running.',
    labelNames: ['name', 'controller'] as const,
    registers: [this.registry],
  });
  readonly queueRetries = new Counter({
    name: 'workqueue_retries_total',
    help: 'Total number of retries handled by workqueue.',
    labelNames: ['name', 'controller'] as const,
    registers: [this.registry],
  });
  readonly restRequests = new Counter({
    name: 'rest_client_requests_total',
    help: 'Number of HTTP requests, partitioned by status code, method, and host.',
    labelNames: ['code', 'method', 'host'] as const,
    registers: [this.registry],
  });
  readonly restLatency = new Histogram({
    name: 'rest_client_request_duration_seconds',
    help: 'Request latency in seconds. Broken down by verb and host.',
    labelNames: ['verb', 'host'] as const,
    buckets: [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60],
    registers: [this.registry],
  });
  readonly leaderElection = new Gauge({
    name: 'leader_election_master_status',
    help: 'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master.',
    labelNames: ['name'] as const,
    registers: [this.registry],
  });
  readonly webhookRequests = new Counter({
    name: 'controller_runtime_webhook_requests_total',
    help: 'Total number of admission requests by HTTP status code.',
    labelNames: ['webhook', 'code'] as const,
    registers: [this.registry],
  });
  readonly webhookLatency = new Histogram({
    name: 'controller_runtime_webhook_latency_seconds',
    help: 'Histogram of the latency of processing admission requests',
    labelNames: ['webhook'] as const,
    registers: [this.registry],
  });
  readonly webhookInFlight = new Gauge({
    name: 'controller_runtime_webhook_requests_in_flight',
    help: 'Current number of admission requests being served.',
    labelNames: ['webhook'] as const,
    registers: [this.registry],
  });

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }
}

/**
 * The workqueue metrics of one controller, in the shape WorkQueue reports them
 * (src/kube/queue.ts knows nothing of Prometheus).
 */
export function queueMetrics(m: Metrics, controller: string) {
  const labels = { name: controller, controller };
  return {
    added: () => m.queueAdds.inc(labels),
    depth: (n: number) => m.queueDepth.set(labels, n),
    waited: (seconds: number) => m.queueLatency.observe(labels, seconds),
    worked: (seconds: number) => m.workDuration.observe(labels, seconds),
    retried: () => m.queueRetries.inc(labels),
    inProgress: (unfinishedSeconds: number, longestSeconds: number) => {
      m.unfinishedWork.set(labels, unfinishedSeconds);
      m.longestRunning.set(labels, longestSeconds);
    },
  };
}
