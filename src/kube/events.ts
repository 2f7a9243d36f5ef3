import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { KubeClient } from './client.js';
import { isAlreadyExists, isNotFound } from './errors.js';
import { type Logger, silentLogger } from './logger.js';
import type { KubeObject, ResourceDescriptor } from './resource.js';

export const eventResource: ResourceDescriptor = {
  group: '',
  version: 'v1',
  plural: 'events',
  namespaced: true,
  kind: 'Event',
};

export type EventType = 'Normal' | 'Warning';

export interface ObjectReference {
  apiVersion?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
}

/** A core/v1 Event, what `kubectl describe` shows under Events. */
export interface CoreEvent extends KubeObject {
  involvedObject: ObjectReference;
  reason: string;
  message: string;
  type: EventType;
  count?: number;
  firstTimestamp?: string;
  lastTimestamp?: string;
  source?: { component?: string; host?: string };
  reportingComponent?: string;
  reportingInstance?: string;
}

export interface EventRecorderOptions {
  client: KubeClient;
  /** Who reports, e.g. 'ipam-in-cluster-controller'. */
  component: string;
  instance?: string;
  /** A repeat of an identical event within this window bumps the first one's count. Default 10 min. */
  dedupWindowMs?: number;
  /** How many distinct events are remembered for de-duplication. Default 4096. */
  maxTracked?: number;
  /**
   * New Normal events written per second once the burst is spent; the rest are counted and not
   * written. Warnings are never limited. Default 5.
   */
  normalPerSecond?: number;
  /** New Normal events written at once before the rate applies. Default 100. */
  normalBurst?: number;
  /** Event writes in flight at once. Default 2. */
  maxInFlight?: number;
  /** Events waiting for a write beyond this many are dropped (and counted). Default 10,000. */
  maxQueued?: number;
  logger?: Logger;
}

export interface EventRecorderStats {
  /** Creates and count updates sent. */
  writes: number;
  /** New Normal events not written because the rate limit was spent. */
  suppressed: number;
  /** Events not written because too many were waiting. */
  dropped: number;
}

interface Tracked {
  name: string;
  namespace: string;
  ref: ObjectReference;
  type: EventType;
  reason: string;
  message: string;
  count: number;
  firstSeen: number;
  lastSeen: number;
  /** The Event exists on the server: repeats update its count instead of creating it. */
  created: boolean;
  state: 'idle' | 'queued' | 'writing';
  /** Seen again while its write was in flight: write once more afterwards, with the new count. */
  again: boolean;
}

const MAX_MESSAGE_LENGTH = 1024;
const SUPPRESSED_LOG_INTERVAL_MS = 30_000;

function timestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Records core/v1 Events about objects. Recording never throws and never blocks a reconcile:
 * writes go out in the background, a few at a time, and failures are logged. Identical events
 * (same object, type, reason and message) within the window update one Event's count instead of
 * piling up, and repeats that arrive while a write is pending share that write.
 *
 * Every Event is a write the API server persists, as costly as the controller's own writes. A
 * burst of thousands of allocations would otherwise double the server's work for information the
 * objects' conditions already carry, so new Normal events are rate limited (a token bucket, like
 * client-go's per-object spam filter but over the whole recorder). Warnings always go out.
 */
export class EventRecorder {
  private readonly tracked = new Map<string, Tracked>();
  private readonly warnings: Tracked[] = [];
  private readonly normals: Tracked[] = [];
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];
  private readonly log: Logger;
  private readonly dedupWindowMs: number;
  private readonly maxTracked: number;
  private readonly instance: string;
  private readonly normalPerSecond: number;
  private readonly normalBurst: number;
  private readonly maxInFlight: number;
  private readonly maxQueued: number;
  private tokens: number;
  private tokensAt = Date.now();
  private readonly counters: EventRecorderStats = { writes: 0, suppressed: 0, dropped: 0 };
  private unreported = 0;
  private lastReport = 0;

  constructor(private readonly opts: EventRecorderOptions) {
    this.log = opts.logger ?? silentLogger;
    this.dedupWindowMs = opts.dedupWindowMs ?? 10 * 60_000;
    this.maxTracked = opts.maxTracked ?? 4096;
    this.instance = opts.instance ?? hostname();
    this.normalPerSecond = opts.normalPerSecond ?? 5;
    this.normalBurst = opts.normalBurst ?? 100;
    this.maxInFlight = Math.max(1, opts.maxInFlight ?? 2);
    this.maxQueued = opts.maxQueued ?? 10_000;
    this.tokens = this.normalBurst;
  }

  event(obj: KubeObject, type: EventType, reason: string, message: string): void {
    const text =
      message.length > MAX_MESSAGE_LENGTH ? `${message.slice(0, MAX_MESSAGE_LENGTH - 3)}...` : message;
    const ref: ObjectReference = {
      apiVersion: obj.apiVersion,
      kind: obj.kind,
      name: obj.metadata.name,
      namespace: obj.metadata.namespace,
      uid: obj.metadata.uid,
      resourceVersion: obj.metadata.resourceVersion,
    };
    const key = JSON.stringify([ref.uid, ref.kind, ref.namespace, ref.name, type, reason, text]);
    const now = Date.now();
    let entry = this.tracked.get(key);
    if (entry && now - entry.lastSeen > this.dedupWindowMs && entry.state === 'idle') entry = undefined;
    if (entry) {
      entry.count++;
      entry.lastSeen = now;
      entry.ref = ref;
      // Re-insert so the map's order is least-recently-seen first, for eviction.
      this.tracked.delete(key);
      this.tracked.set(key, entry);
      this.schedule(entry);
      return;
    }
    if (type === 'Normal' && !this.takeToken(now)) {
      this.counters.suppressed++;
      this.reportSuppressed(now);
      return;
    }
    const fresh: Tracked = {
      name: `${ref.name ?? 'object'}.${now.toString(16)}${randomBytes(2).toString('hex')}`,
      // Events about cluster-scoped objects go to 'default', as client-go does.
      namespace: ref.namespace || 'default',
      ref,
      type,
      reason,
      message: text,
      count: 1,
      firstSeen: now,
      lastSeen: now,
      created: false,
      state: 'idle',
      again: false,
    };
    this.tracked.set(key, fresh);
    this.evict();
    this.schedule(fresh);
  }

  normal(obj: KubeObject, reason: string, message: string): void {
    this.event(obj, 'Normal', reason, message);
  }

  warning(obj: KubeObject, reason: string, message: string): void {
    this.event(obj, 'Warning', reason, message);
  }

  stats(): EventRecorderStats {
    return { ...this.counters };
  }

  /** Resolves when every event recorded so far has been written (or failed). */
  flush(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private takeToken(now: number): boolean {
    this.tokens = Math.min(
      this.normalBurst,
      this.tokens + ((now - this.tokensAt) / 1000) * this.normalPerSecond,
    );
    this.tokensAt = now;
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }

  private reportSuppressed(now: number): void {
    this.unreported++;
    if (now - this.lastReport < SUPPRESSED_LOG_INTERVAL_MS) return;
    this.lastReport = now;
    this.log.info(
      { suppressed: this.unreported, normalPerSecond: this.normalPerSecond },
      'normal events beyond the rate limit were not written',
    );
    this.unreported = 0;
  }

  private schedule(entry: Tracked): void {
    if (entry.state === 'queued') return; // the queued write will carry the latest count
    if (entry.state === 'writing') {
      entry.again = true;
      return;
    }
    if (this.warnings.length + this.normals.length >= this.maxQueued) {
      this.counters.dropped++;
      return;
    }
    entry.state = 'queued';
    (entry.type === 'Warning' ? this.warnings : this.normals).push(entry);
    this.pump();
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight) {
      // Warnings first: they report failures someone may be waiting to see.
      const entry = this.warnings.shift() ?? this.normals.shift();
      if (!entry) break;
      entry.state = 'writing';
      this.inFlight++;
      void this.write(entry)
        .catch((err: unknown) => {
          this.log.warn(
            { event: `${entry.namespace}/${entry.name}`, err: String(err) },
            'writing an event failed',
          );
        })
        .finally(() => {
          this.inFlight--;
          entry.state = 'idle';
          if (entry.again) {
            entry.again = false;
            this.schedule(entry);
          }
          this.pump();
        });
    }
    if (this.isIdle()) for (const w of this.idleWaiters.splice(0)) w();
  }

  private isIdle(): boolean {
    return this.inFlight === 0 && this.warnings.length === 0 && this.normals.length === 0;
  }

  private async write(entry: Tracked): Promise<void> {
    this.counters.writes++;
    if (!entry.created) {
      await this.create(entry);
      return;
    }
    try {
      await this.opts.client.patch<CoreEvent>(
        eventResource,
        entry.name,
        { count: entry.count, lastTimestamp: timestamp(entry.lastSeen) },
        { namespace: entry.namespace },
      );
    } catch (err) {
      // The Event expired (the API server deletes them after an hour by default): start anew.
      if (!isNotFound(err)) throw err;
      entry.created = false;
      await this.create(entry);
    }
  }

  private async create(entry: Tracked): Promise<void> {
    try {
      await this.opts.client.create<CoreEvent>(eventResource, {
        metadata: { name: entry.name, namespace: entry.namespace },
        involvedObject: entry.ref,
        reason: entry.reason,
        message: entry.message,
        type: entry.type,
        count: entry.count,
        firstTimestamp: timestamp(entry.firstSeen),
        lastTimestamp: timestamp(entry.lastSeen),
        source: { component: this.opts.component, host: this.instance },
        reportingComponent: this.opts.component,
        reportingInstance: this.instance,
      });
    } catch (err) {
      // An earlier create whose answer was lost made it after all: count on from there.
      if (!isAlreadyExists(err)) throw err;
      entry.created = true;
      entry.again = true;
      return;
    }
    entry.created = true;
  }

  private evict(): void {
    while (this.tracked.size > this.maxTracked) {
      const oldest = this.tracked.keys().next();
      if (oldest.done) return;
      this.tracked.delete(oldest.value);
    }
  }
}
