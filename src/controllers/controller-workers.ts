/**
 * A controller's workers on its queue, reporting controller-runtime's reconcile metrics under the
 * controller's name: the claim controller and the control-plane endpoint controller run alike.
 */
import type { Logger } from 'pino';
import { type Reconciler, runWorkers, type WorkerPool, type WorkQueue } from '../kube/index.js';
import type { Metrics } from '../observability/metrics.js';

export function runController(
  queue: WorkQueue<string>,
  reconcile: Reconciler<string>,
  opts: { name: string; workers: number; metrics: Metrics; log: Logger },
): WorkerPool {
  const { metrics } = opts;
  const controller = { controller: opts.name };
  metrics.maxConcurrentReconciles.set(controller, opts.workers);
  return runWorkers(queue, reconcile, {
    workers: opts.workers,
    logger: opts.log,
    name: opts.name,
    onStarted: () => metrics.activeWorkers.inc(controller),
    onReconciled: (result, ms) => {
      metrics.activeWorkers.dec(controller);
      metrics.reconciles.inc({ ...controller, result });
      if (result === 'error') metrics.reconcileErrors.inc(controller);
      metrics.reconcileSeconds.observe(controller, ms / 1000);
    },
  });
}
