/**
 * Prometheus metrics of the provider. Names follow the controller-runtime style
 * (`<subsystem>_<what>_<unit>`) so dashboards for Cluster API providers feel familiar.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

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
  readonly duplicates = new Counter({
    name: 'ipam_duplicate_addresses_total',
    help: 'Times two IPAddresses were seen holding one address of one pool (made outside this controller).',
    labelNames: ['pool'] as const,
    registers: [this.registry],
  });
  readonly poolAddresses = new Gauge({
    name: 'ipam_pool_addresses',
    help: 'Addresses of a pool by state (total, used, free, outOfRange); capped at int64 like the status.',
    labelNames: ['pool', 'state'] as const,
    registers: [this.registry],
  });
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

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }
}
