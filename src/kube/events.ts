import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { KubeClient } from './client.js';
import { isNotFound } from './errors.js';
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
  logger?: Logger;
}

interface Tracked {
  name: string;
  namespace: string;
  count: number;
  firstSeen: number;
  lastSeen: number;
  /** Writes for one event run one after another, so a repeat never races its create. */
  chain: Promise<void>;
}

const MAX_MESSAGE_LENGTH = 1024;

/**
 * Records core/v1 Events about objects. Recording never throws and never blocks a reconcile:
 * writes go out in the background and failures are logged. Identical events (same object,
 * type, reason and message) within the window update one Event's count instead of piling up.
 */
export class EventRecorder {
  private readonly tracked = new Map<string, Tracked>();
  private readonly pending = new Set<Promise<void>>();
  private readonly log: Logger;
  private readonly dedupWindowMs: number;
  private readonly maxTracked: number;
  private readonly instance: string;

  constructor(private readonly opts: EventRecorderOptions) {
    this.log = opts.logger ?? silentLogger;
    this.dedupWindowMs = opts.dedupWindowMs ?? 10 * 60_000;
    this.maxTracked = opts.maxTracked ?? 4096;
    this.instance = opts.instance ?? hostname();
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
    if (entry && now - entry.lastSeen > this.dedupWindowMs) entry = undefined;
    if (entry) {
      const repeat = entry;
      repeat.count++;
      repeat.lastSeen = now;
      // Re-insert so the map's order is least-recently-seen first, for eviction.
      this.tracked.delete(key);
      this.tracked.set(key, repeat);
      this.schedule(repeat, () => this.writeRepeat(repeat, ref, type, reason, text));
      return;
    }
    const fresh: Tracked = {
      name: `${ref.name ?? 'object'}.${now.toString(16)}${randomBytes(2).toString('hex')}`,
      // Events about cluster-scoped objects go to 'default', as client-go does.
      namespace: ref.namespace || 'default',
      count: 1,
      firstSeen: now,
      lastSeen: now,
      chain: Promise.resolve(),
    };
    this.tracked.set(key, fresh);
    this.evict();
    this.schedule(fresh, () => this.create(fresh, ref, type, reason, text));
  }

  normal(obj: KubeObject, reason: string, message: string): void {
    this.event(obj, 'Normal', reason, message);
  }

  warning(obj: KubeObject, reason: string, message: string): void {
    this.event(obj, 'Warning', reason, message);
  }

  /** Resolves when every event recorded so far has been written (or failed). */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  private schedule(entry: Tracked, write: () => Promise<void>): void {
    const next = entry.chain.then(write).catch((err: unknown) => {
      this.log.warn(
        { event: `${entry.namespace}/${entry.name}`, err: String(err) },
        'writing an event failed',
      );
    });
    entry.chain = next;
    this.pending.add(next);
    void next.finally(() => this.pending.delete(next));
  }

  private async create(
    entry: Tracked,
    ref: ObjectReference,
    type: EventType,
    reason: string,
    message: string,
  ): Promise<void> {
    await this.opts.client.create<CoreEvent>(eventResource, {
      metadata: { name: entry.name, namespace: entry.namespace },
      involvedObject: ref,
      reason,
      message,
      type,
      count: entry.count,
      firstTimestamp: new Date(entry.firstSeen).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      lastTimestamp: new Date(entry.lastSeen).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      source: { component: this.opts.component, host: this.instance },
      reportingComponent: this.opts.component,
      reportingInstance: this.instance,
    });
  }

  private async writeRepeat(
    entry: Tracked,
    ref: ObjectReference,
    type: EventType,
    reason: string,
    message: string,
  ): Promise<void> {
    try {
      await this.opts.client.patch<CoreEvent>(
        eventResource,
        entry.name,
        {
          count: entry.count,
          lastTimestamp: new Date(entry.lastSeen).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        },
        { namespace: entry.namespace },
      );
    } catch (err) {
      // The Event expired (the API server deletes them after an hour by default): start anew.
      if (!isNotFound(err)) throw err;
      await this.create(entry, ref, type, reason, message);
    }
  }

  private evict(): void {
    while (this.tracked.size > this.maxTracked) {
      const oldest = this.tracked.keys().next();
      if (oldest.done) return;
      this.tracked.delete(oldest.value);
    }
  }
}
