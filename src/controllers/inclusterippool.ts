/**
 * Pool status and finalizer. Counts come from the allocator in O(1); writes are coalesced: a pool
 * marked dirty is written at most once per window, so a burst of 1,000 allocations in one pool
 * makes a handful of status writes instead of 1,000. A write that fails is tried again after a
 * per-pool exponential backoff (one window, doubling, up to controller-runtime's 1,000 s), or
 * sooner when the pool changes, as a work queue retries a failing reconcile.
 */
import { FINALIZER_PROTECT_POOL, IPAM_GROUP, POOL_VERSION_V1ALPHA2 } from '../api/constants.js';
import { int64JSON, MAX_INT64 } from '../ip/index.js';
import {
  compareResourceVersions,
  ExponentialFailureRateLimiter,
  isNotFound,
  type QueueMetrics,
  type ResourceDescriptor,
} from '../kube/index.js';
import { queueMetrics } from '../observability/metrics.js';
import { isDeleting } from './claim-rules.js';
import { type ConditionInput, setCondition } from './conditions.js';
import type { ControllerContext } from './context.js';
import type { PoolCounts, PoolState } from './pool-state.js';

/** Reasons of the pool's Ready condition. */
export const PoolReasons = {
  Ready: 'Ready',
  InvalidSpec: 'InvalidSpec',
} as const;

/** Ready=True while the spec is usable; False, with the field at fault, while it is not. */
function readyCondition(state: PoolState): ConditionInput {
  const observedGeneration = state.pool.metadata?.generation;
  return state.valid
    ? { type: 'Ready', status: 'True', reason: PoolReasons.Ready, message: '', observedGeneration }
    : {
        type: 'Ready',
        status: 'False',
        reason: PoolReasons.InvalidSpec,
        message: `No address is handed out until the spec is fixed: ${state.invalidReason ?? 'invalid'}`,
        observedGeneration,
      };
}

export function poolResource(kind: string): ResourceDescriptor {
  const global = kind.startsWith('Global');
  return {
    group: IPAM_GROUP,
    version: POOL_VERSION_V1ALPHA2,
    plural: `${kind.toLowerCase()}s`,
    namespaced: !global,
    kind,
  };
}

/** One ProtectPool patch in flight per pool, however many claims and writers wait for it. */
const protecting = new WeakMap<PoolState, Promise<void>>();

/**
 * Puts ProtectPool on the pool, unless it carries it. No IPAddress is created in a pool without
 * it: a pool deleted before its first status write would otherwise go at once and leave its
 * IPAddresses pointing at nothing (webhooks off, or skipped with the annotation).
 */
export function protectPool(ctx: ControllerContext, state: PoolState): Promise<void> {
  const finalizers = state.pool.metadata?.finalizers ?? [];
  if (finalizers.includes(FINALIZER_PROTECT_POOL)) return Promise.resolve();
  let pending = protecting.get(state);
  if (!pending) {
    pending = patchProtectPool(ctx, state).finally(() => protecting.delete(state));
    protecting.set(state, pending);
  }
  return pending;
}

async function patchProtectPool(ctx: ControllerContext, state: PoolState): Promise<void> {
  const meta = state.pool.metadata ?? {};
  const updated = await ctx.client.patch<PoolState['pool'] & { metadata: { resourceVersion?: string } }>(
    poolResource(state.kind),
    meta.name ?? '',
    {
      metadata: {
        finalizers: [...(meta.finalizers ?? []), FINALIZER_PROTECT_POOL],
        // Fails (and is retried) rather than overwrite a list someone changed meanwhile.
        resourceVersion: meta.resourceVersion,
      },
    },
    { namespace: meta.namespace, fieldManager: ctx.fieldManager },
  );
  // Unless the informer stored a newer copy meanwhile (a deletion, say), which must win.
  const newer = compareResourceVersions(
    updated.metadata.resourceVersion,
    state.pool.metadata?.resourceVersion,
  );
  if (newer === undefined || newer > 0) state.pool = updated;
}

function cap(n: bigint): bigint {
  return n > MAX_INT64 ? MAX_INT64 : n;
}

const COUNTS = ['total', 'used', 'free', 'outOfRange'] as const;

/**
 * Observed counts equal the wanted ones (compared as doubles: the informer parses JSON numbers).
 * preAllocated only where it is written: a pool with pins, or one that had some.
 */
function sameCounts(
  observed: Record<string, unknown> | undefined,
  wanted: PoolCounts,
  pins: boolean,
): boolean {
  if (!observed) return false;
  if (pins && observed.preAllocated !== Number(cap(wanted.preAllocated))) return false;
  return COUNTS.every((k) => observed[k] === Number(cap(wanted[k])));
}

export class PoolStatusWriter {
  private readonly dirty = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private stopped = false;
  private readonly reportedInvalid = new Map<string, string>();
  private readonly failures: ExponentialFailureRateLimiter<string>;
  private readonly retries = new Map<string, NodeJS.Timeout>();
  /** When each dirty pool was marked, for workqueue_queue_duration_seconds. */
  private readonly markedAt = new Map<string, number>();
  /** The dirty set reported as the Go provider's four pool controllers' work queues. */
  private readonly queues = new Map<string, QueueMetrics>();

  constructor(
    private readonly ctx: ControllerContext,
    private readonly windowMs = 1000,
  ) {
    this.failures = new ExponentialFailureRateLimiter(windowMs, 1_000_000);
  }

  mark(pool: PoolState): void {
    this.markKey(pool.key);
  }

  private markKey(key: string): void {
    if (this.stopped) return;
    if (!this.dirty.has(key)) {
      this.dirty.add(key);
      this.markedAt.set(key, performance.now());
      this.queueOf(key)?.added();
      this.reportDepth();
    }
    if (!this.timer && !this.flushing) this.timer = setTimeout(() => void this.flush(), this.windowMs);
  }

  private queueOf(key: string): QueueMetrics | undefined {
    const kind = this.ctx.registry.get(key)?.kind;
    if (!kind) return undefined;
    let q = this.queues.get(kind);
    if (!q) {
      q = queueMetrics(this.ctx.metrics, kind.toLowerCase());
      this.queues.set(kind, q);
    }
    return q;
  }

  private reportDepth(): void {
    const depth = new Map<QueueMetrics, number>([...this.queues.values()].map((q) => [q, 0]));
    for (const key of this.dirty) {
      const q = this.queueOf(key);
      if (q) depth.set(q, (depth.get(q) ?? 0) + 1);
    }
    for (const [q, n] of depth) q.depth(n);
  }

  /**
   * Writes what is pending now and stops taking more (clean shutdown). Pools waiting out a
   * backoff are left to the next leader, which writes every pool once it leads.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const t of this.retries.values()) clearTimeout(t);
    this.retries.clear();
    await this.flushing;
    await this.flushNow();
  }

  /**
   * Stops at once, writing nothing more: the lease is lost or the process is going (a hard stop).
   * Retries waiting out a backoff would otherwise keep writing, as a leader no longer, through a
   * client that may be closed.
   */
  abandon(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const t of this.retries.values()) clearTimeout(t);
    this.retries.clear();
    this.dirty.clear();
  }

  private retryLater(key: string): void {
    this.queueOf(key)?.retried();
    clearTimeout(this.retries.get(key));
    const delayMs = this.failures.when(key);
    this.retries.set(
      key,
      setTimeout(() => {
        this.retries.delete(key);
        this.markKey(key);
      }, delayMs),
    );
  }

  private succeeded(key: string): void {
    this.failures.forget(key);
    clearTimeout(this.retries.get(key));
    this.retries.delete(key);
  }

  private async flush(): Promise<void> {
    this.timer = undefined;
    this.flushing = this.flushNow();
    await this.flushing;
    this.flushing = undefined;
    if (this.dirty.size > 0 && !this.stopped && !this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.windowMs);
    }
  }

  private async flushNow(): Promise<void> {
    const keys = [...this.dirty];
    const now = performance.now();
    for (const key of keys) {
      const at = this.markedAt.get(key);
      this.markedAt.delete(key);
      if (at !== undefined) this.queueOf(key)?.waited((now - at) / 1000);
    }
    this.dirty.clear();
    this.reportDepth();
    const { metrics } = this.ctx;
    await Promise.all(
      keys.map(async (key) => {
        const state = this.ctx.registry.get(key);
        if (!state) return;
        // Counted as the Go provider's pool controllers (`inclusterippool`, …) count their
        // reconciles, so that dashboards made for it show the pools too.
        const controller = { controller: state.kind.toLowerCase() };
        const started = performance.now();
        metrics.activeWorkers.inc(controller);
        let result = 'success';
        try {
          await this.write(state);
          this.succeeded(key);
        } catch (err) {
          if (isNotFound(err)) {
            this.succeeded(key);
            return;
          }
          result = 'error';
          metrics.reconcileErrors.inc(controller);
          this.ctx.log.warn(
            { pool: key, err: (err as Error).message, retries: this.failures.numRequeues(key) },
            'writing pool status failed; retrying',
          );
          if (!this.stopped) this.retryLater(key);
        } finally {
          metrics.activeWorkers.dec(controller);
          metrics.reconciles.inc({ ...controller, result });
          const seconds = (performance.now() - started) / 1000;
          metrics.reconcileSeconds.observe(controller, seconds);
          this.queueOf(key)?.worked(seconds);
        }
      }),
    );
  }

  private async write(state: PoolState): Promise<void> {
    const { ctx } = this;
    const pool = state.pool;
    const meta = pool.metadata ?? {};
    const resource = poolResource(state.kind);
    const opts = { namespace: meta.namespace, fieldManager: ctx.fieldManager };
    const finalizers = meta.finalizers ?? [];
    if (isDeleting(pool)) {
      // The pool goes once no IPAddress (and no reservation) refers to it any more.
      if (finalizers.includes(FINALIZER_PROTECT_POOL) && state.holderCount === 0) {
        await ctx.client.patch(
          resource,
          meta.name ?? '',
          {
            metadata: {
              finalizers: finalizers.filter((f) => f !== FINALIZER_PROTECT_POOL),
              resourceVersion: meta.resourceVersion,
            },
          },
          opts,
        );
      }
      return;
    }
    // Like Cluster API's patch helper, a refused metadata patch (another admission policy, a
    // conflict) does not hold back the status: users still see the counts and the Ready condition.
    let finalizerError: unknown;
    if (!finalizers.includes(FINALIZER_PROTECT_POOL)) {
      try {
        await protectPool(ctx, state);
      } catch (err) {
        if (isNotFound(err)) throw err;
        finalizerError = err;
      }
    }
    await this.writeStatus(state, pool);
    if (finalizerError) throw finalizerError;
  }

  private async writeStatus(state: PoolState, pool: PoolState['pool']): Promise<void> {
    const { ctx } = this;
    const meta = pool.metadata ?? {};
    const resource = poolResource(state.kind);
    const opts = { namespace: meta.namespace, fieldManager: ctx.fieldManager };
    if (!state.valid) this.reportInvalid(state);
    const counts = state.counts();
    const conditions = setCondition(pool.status?.conditions, readyCondition(state));
    const observed = pool.status?.ipAddresses as Record<string, unknown> | undefined;
    // A pool written for the Go provider keeps the Go provider's four counts, and no more.
    const pins = state.hasPins || observed?.preAllocated !== undefined;
    // RoundRobin's position, where the next leader (or this one after a restart) finds it.
    const position = state.allocator?.lastAllocated;
    const moved = position !== undefined && position !== pool.status?.lastAllocated;
    if (!conditions && !moved && sameCounts(observed, counts, pins)) return;
    const ipAddresses = {
      total: int64JSON(counts.total),
      used: int64JSON(counts.used),
      free: int64JSON(counts.free),
      outOfRange: int64JSON(counts.outOfRange),
      ...(pins ? { preAllocated: int64JSON(counts.preAllocated) } : {}),
    };
    // A merge patch replaces the whole conditions list; the provider is the only writer of it.
    const status = {
      ipAddresses,
      ...(conditions ? { conditions } : {}),
      ...(moved ? { lastAllocated: position } : {}),
    };
    await ctx.client.patchStatus(resource, meta.name ?? '', { status }, opts);
    ctx.metrics.statusWrites.inc();
    for (const [k, v] of Object.entries(counts)) {
      if (k === 'preAllocated' && !pins) continue;
      ctx.metrics.poolAddresses.set({ pool: state.key, state: k }, Number(cap(v)));
    }
  }

  /** An invalid spec (it got in while webhooks were off) is reported once per distinct reason. */
  private reportInvalid(state: PoolState): void {
    const reason = state.invalidReason ?? 'invalid';
    if (this.reportedInvalid.get(state.key) === reason) return;
    this.reportedInvalid.set(state.key, reason);
    this.ctx.log.error({ pool: state.key, reason }, 'pool spec is invalid; no address is allocated from it');
    this.ctx.recorder.warning(state.pool as never, 'PoolNotReady', `Pool spec is invalid: ${reason}`);
  }
}
