import { isConflict } from './errors.js';
import type { InformerHandlers } from './informer.js';
import { type Logger, silentLogger } from './logger.js';
import type { WorkQueue } from './queue.js';
import { type KubeObject, objectKey } from './resource.js';

/** What a reconcile asks for next; nothing (or undefined) means "done until the next change". */
export interface ReconcileResult {
  /** Reconcile this key again after this delay (e.g. a grace period ends then). */
  requeueAfterMs?: number;
  /** Reconcile again soon, with the key's backoff (without it counting as an error). */
  requeue?: boolean;
}

/**
 * Reconciles one key. `signal` aborts when the workers stop at once (leadership lost): writes
 * should pass it on so nothing more reaches the API server.
 */
// biome-ignore lint/suspicious/noConfusingVoidType: lets a reconciler be a plain `async` function that returns nothing
export type Reconciler<K> = (key: K, signal: AbortSignal) => Promise<ReconcileResult | undefined | void>;

export interface WorkerOptions {
  /** How many keys are reconciled at the same time (never one key twice). Default 1. */
  workers?: number;
  logger?: Logger;
  /** Named in logs. */
  name?: string;
  /** Called after every reconcile (for metrics), with controller-runtime's result names. */
  onReconciled?: (outcome: 'success' | 'requeue' | 'requeue_after' | 'error', durationMs: number) => void;
  /** Called when a reconcile starts (for the active-workers gauge). */
  onStarted?: () => void;
}

export interface WorkerPool {
  /** Aborted when the pool stops at once. */
  readonly signal: AbortSignal;
  /**
   * Stops the workers. drain: finish every queued key first (clean shutdown); otherwise abort
   * running reconciles and drop the queue (leadership lost). Resolves when no reconcile runs.
   */
  stop(opts?: { drain?: boolean }): Promise<void>;
  /** Resolves when every worker has ended. */
  readonly done: Promise<void>;
}

/** Runs N workers that take keys from the queue and reconcile them, retrying errors with backoff. */
export function runWorkers<K>(
  queue: WorkQueue<K>,
  reconcile: Reconciler<K>,
  opts: WorkerOptions = {},
): WorkerPool {
  const log = opts.logger ?? silentLogger;
  const abort = new AbortController();
  const count = Math.max(1, opts.workers ?? 1);

  async function worker(): Promise<void> {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      const started = performance.now();
      opts.onStarted?.();
      try {
        const result = await reconcile(key, abort.signal);
        if (result?.requeueAfterMs !== undefined && result.requeueAfterMs > 0) {
          queue.forget(key);
          queue.addAfter(key, result.requeueAfterMs);
          opts.onReconciled?.('requeue_after', performance.now() - started);
        } else if (result?.requeue) {
          queue.addRateLimited(key);
          opts.onReconciled?.('requeue', performance.now() - started);
        } else {
          queue.forget(key);
          opts.onReconciled?.('success', performance.now() - started);
        }
      } catch (err) {
        opts.onReconciled?.('error', performance.now() - started);
        if (!abort.signal.aborted) {
          const fields = {
            controller: opts.name,
            key: String(key),
            err: err instanceof Error ? err.message : String(err),
          };
          // A Conflict is an optimistic lock doing its job: the object changed since it was read,
          // and the retry reads the newer copy. Counted as an error (as controller-runtime does),
          // but no error line for it: at error level it would page someone over nothing.
          if (isConflict(err)) log.info(fields, 'object changed since it was read, will retry');
          else log.error(fields, 'reconcile failed, will retry with backoff');
          queue.addRateLimited(key);
        }
      } finally {
        queue.done(key);
      }
    }
  }

  const done = Promise.all(Array.from({ length: count }, () => worker())).then(() => {});
  return {
    signal: abort.signal,
    done,
    async stop({ drain = false } = {}) {
      if (drain) {
        await queue.shutDownWithDrain();
      } else {
        abort.abort();
        queue.shutDown();
      }
      await done;
    },
  };
}

/**
 * Informer handlers that queue keys for every change: by default the object's own key; pass
 * `keysOf` to map a change to other keys (a pool's change to the keys of its claims).
 */
export function enqueueChanges<T extends KubeObject>(
  queue: WorkQueue<string>,
  keysOf: (obj: T) => Iterable<string> = (obj) => [objectKey(obj)],
): InformerHandlers<T> {
  const enqueue = (obj: T) => {
    for (const key of keysOf(obj)) queue.add(key);
  };
  return { onAdd: enqueue, onUpdate: (_, obj) => enqueue(obj), onDelete: enqueue };
}
