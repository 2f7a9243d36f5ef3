import { defaultControllerRateLimiter, type RateLimiter } from './backoff.js';

export interface WorkQueueOptions<K> {
  /** Delays for addRateLimited. Default: controller-runtime's (5 ms·2^n up to 1000 s, max 10/s overall). */
  rateLimiter?: RateLimiter<K>;
  /** Reports what client-go's workqueue metrics count (src/observability/metrics.ts queueMetrics). */
  metrics?: QueueMetrics;
}

/** client-go's workqueue metrics, as callbacks. */
export interface QueueMetrics {
  /** A key became pending (an add of a key already pending is no add). */
  added(): void;
  depth(n: number): void;
  /** A key was handed out this long after it was added. */
  waited(seconds: number): void;
  /** A key was done this long after it was handed out. */
  worked(seconds: number): void;
  retried(): void;
  /** Every second while keys are processing: their summed and their longest time so far. */
  inProgress(unfinishedSeconds: number, longestSeconds: number): void;
}

const IN_PROGRESS_EVERY_MS = 1000;
/** The longest delay Node's setTimeout honours (2^31-1 ms); longer ones fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A queue of keys to reconcile, with client-go's guarantees: a key waits in the queue at most
 * once however often it is added (de-duplication), and a key being processed is never handed out
 * again until done() — if it was added meanwhile, it is queued again then (per-key serial).
 */
export class WorkQueue<K = string> {
  private items: K[] = [];
  private head = 0;
  /** Keys that need processing: queued, or added again while processing. */
  private readonly dirty = new Set<K>();
  /** Keys handed out and not done yet, with when (performance.now()). */
  private readonly processing = new Map<K, number>();
  /** When each pending key was added, for queue latency (only with metrics). */
  private readonly addedAt = new Map<K, number>();
  private readonly metrics: QueueMetrics | undefined;
  private inProgressTimer: NodeJS.Timeout | undefined;
  private readonly delayed = new Map<K, { at: number; timer: NodeJS.Timeout }>();
  private getters: ((key: K | undefined) => void)[] = [];
  private idleWaiters: (() => void)[] = [];
  private readonly rateLimiter: RateLimiter<K>;
  private stopping = false;
  private draining = false;

  constructor(opts: WorkQueueOptions<K> = {}) {
    this.rateLimiter = opts.rateLimiter ?? defaultControllerRateLimiter<K>();
    this.metrics = opts.metrics;
    if (this.metrics) {
      this.inProgressTimer = setInterval(() => this.reportInProgress(), IN_PROGRESS_EVERY_MS);
      this.inProgressTimer.unref();
    }
  }

  get shuttingDown(): boolean {
    return this.stopping;
  }

  /** Keys waiting to be handed out (not those processing or delayed). */
  len(): number {
    return this.items.length - this.head;
  }

  processingCount(): number {
    return this.processing.size;
  }

  /** Keys waiting for their addAfter delay. */
  delayedCount(): number {
    return this.delayed.size;
  }

  add(key: K): void {
    if (this.stopping || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.metrics) {
      this.metrics.added();
      this.addedAt.set(key, performance.now());
    }
    if (this.processing.has(key)) return;
    this.enqueue(key);
  }

  /** Adds the key after a delay; with several pending delays for one key, the earliest wins. */
  addAfter(key: K, delayMs: number): void {
    if (this.stopping) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const at = Date.now() + delayMs;
    const pending = this.delayed.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    this.arm(key, at);
  }

  /**
   * Node fires a timer longer than 2^31-1 ms (~24.8 days) at once: a grace period of months would
   * requeue every millisecond. Long waits are cut into legs and re-armed until their time comes.
   */
  private arm(key: K, at: number): void {
    const remaining = at - Date.now();
    const timer = setTimeout(
      () => {
        if (this.stopping) return;
        if (Date.now() < at) {
          this.arm(key, at);
          return;
        }
        this.delayed.delete(key);
        this.add(key);
      },
      Math.max(0, Math.min(remaining, MAX_TIMER_MS)),
    );
    this.delayed.set(key, { at, timer });
  }

  /** Adds the key after its rate limiter's delay (for retries after a failure). */
  addRateLimited(key: K): void {
    this.metrics?.retried();
    this.addAfter(key, this.rateLimiter.when(key));
  }

  /** Resets the key's failure count (after it succeeded). */
  forget(key: K): void {
    this.rateLimiter.forget(key);
  }

  numRequeues(key: K): number {
    return this.rateLimiter.numRequeues(key);
  }

  /**
   * The next key to process, waiting for one if need be. Resolves undefined once the queue shuts
   * down (when draining, only after every queued key was handed out). Call done(key) afterwards.
   */
  get(): Promise<K | undefined> {
    const key = this.dequeue();
    if (key !== undefined) return Promise.resolve(key);
    if (this.stopping && (!this.draining || this.processing.size === 0)) return Promise.resolve(undefined);
    return new Promise((resolve) => this.getters.push(resolve));
  }

  done(key: K): void {
    const since = this.processing.get(key);
    this.processing.delete(key);
    if (this.metrics && since !== undefined) this.metrics.worked((performance.now() - since) / 1000);
    if (this.dirty.has(key)) {
      if (this.stopping && !this.draining) this.dirty.delete(key);
      else this.enqueue(key);
    }
    this.checkIdle();
  }

  /** Stops at once: queued and delayed keys are dropped, waiting get() calls resolve undefined. */
  shutDown(): void {
    this.stopping = true;
    this.draining = false;
    this.dropDelayed();
    for (const key of this.items.slice(this.head)) this.dirty.delete(key);
    this.items = [];
    this.head = 0;
    this.addedAt.clear();
    this.metrics?.depth(0);
    this.wakeGetters();
    this.checkIdle();
  }

  /**
   * Stops taking new keys but hands out those already queued (and keys re-added while
   * processing), and resolves when the last one is done. Delayed keys are dropped.
   */
  shutDownWithDrain(): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      this.draining = true;
      this.dropDelayed();
    }
    const idle = new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    this.checkIdle();
    return idle;
  }

  private enqueue(key: K): void {
    const getter = this.getters.shift();
    if (getter) {
      this.dirty.delete(key);
      this.handOut(key);
      getter(key);
      return;
    }
    this.items.push(key);
    this.metrics?.depth(this.len());
  }

  private handOut(key: K): void {
    const now = performance.now();
    this.processing.set(key, now);
    if (!this.metrics) return;
    const added = this.addedAt.get(key);
    this.addedAt.delete(key);
    if (added !== undefined) this.metrics.waited((now - added) / 1000);
    this.metrics.depth(this.len());
  }

  private reportInProgress(): void {
    const now = performance.now();
    let sum = 0;
    let longest = 0;
    for (const since of this.processing.values()) {
      sum += now - since;
      longest = Math.max(longest, now - since);
    }
    this.metrics?.inProgress(sum / 1000, longest / 1000);
  }

  private dequeue(): K | undefined {
    if (this.head >= this.items.length) return undefined;
    const key = this.items[this.head] as K;
    this.head++;
    // Compact now and then so a long-lived queue does not keep every key ever added.
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    this.dirty.delete(key);
    this.handOut(key);
    return key;
  }

  private dropDelayed(): void {
    for (const { timer } of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
  }

  private wakeGetters(): void {
    for (const g of this.getters.splice(0)) g(undefined);
  }

  private checkIdle(): void {
    if (!this.stopping || this.len() > 0) return;
    const idle = this.processing.size === 0;
    // While draining, a key in processing may come back (it was added again meanwhile), so
    // idle workers keep waiting for it until nothing is in flight.
    if (idle || !this.draining) this.wakeGetters();
    if (idle) {
      clearInterval(this.inProgressTimer);
      this.metrics?.inProgress(0, 0);
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }
}
