import { Backoff, type BackoffOptions, sleep } from './backoff.js';
import { Cache, type IndexFunc } from './cache.js';
import type { KubeClient } from './client.js';
import { isGone, KubeApiError } from './errors.js';
import { type Logger, silentLogger } from './logger.js';
import { compareResourceVersions, type KubeObject, objectKey, type ResourceDescriptor } from './resource.js';

export interface InformerHandlers<T extends KubeObject> {
  /** `initialList` is true for objects of the first list (and the replay to a late handler). */
  onAdd?(obj: T, initialList: boolean): void;
  onUpdate?(oldObj: T, newObj: T): void;
  /** Receives the last state known: the deleted object, or the cached one after a relist. */
  onDelete?(obj: T): void;
  /**
   * After every list, once the cache is the list: at `resourceVersion` the objects cached are all
   * there were. A relist reports deletions only of objects it had cached; one whose ADDED the
   * dropped watch never delivered went unseen, and only the caller knows it wrote it.
   */
  onListed?(resourceVersion: string): void;
}

export interface InformerOptions<T extends KubeObject> {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Page size of lists. Default 500. */
  pageSize?: number;
  indexers?: Record<string, IndexFunc<T>>;
  /**
   * A watch with no event and no bookmark for this long is presumed dead (a half-open TCP
   * connection delivers nothing and no error) and is reopened. Default 150 s: the API server's
   * watch cache sends a bookmark about every minute.
   */
  staleAfterMs?: number;
  /** The server ends each watch after a random time in this range (seconds). Default [300, 600]. */
  watchTimeoutSeconds?: readonly [number, number];
  /** Delays between failed list/watch attempts. Default 500 ms doubling to 30 s, 50 % jitter. */
  backoff?: BackoffOptions;
  logger?: Logger;
  /**
   * Applied to every object before it is cached (e.g. dropManagedFields: thousands of cached
   * objects need not each carry their field-ownership records).
   */
  transform?: (obj: T) => T;
  /**
   * While a list is read: how many objects the collection holds, as far as known (items so far
   * plus what the server says remains).
   */
  onListProgress?: (expected: number) => void;
}

/** Drops metadata.managedFields, which controllers reading from the cache never need. */
export function dropManagedFields<T extends KubeObject>(obj: T): T {
  if (!obj.metadata.managedFields) return obj;
  const { managedFields: _, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

export interface InformerStats {
  lists: number;
  /** Lists after the first: on 410 Gone (history compacted) or an expired continue token. */
  relists: number;
  watches: number;
  /** Watches reopened because the watchdog found them silent too long. */
  staleWatches: number;
  /** Attempts that failed (connection refused or dropped, server errors). */
  failures: number;
  events: number;
  bookmarks: number;
  /** Events skipped because they were not newer than what the cache already had. */
  replays: number;
}

class StaleWatch extends Error {}

/**
 * Keeps a cache of one collection in step with the API server: a paged list, then a watch from
 * the list's resourceVersion with bookmarks; on 410 Gone it lists again, on a dropped connection it
 * reconnects with jittered backoff. Handlers run synchronously in event order and never see an
 * object go backwards in resourceVersion, also across relists and API-server restarts.
 */
export class Informer<T extends KubeObject> {
  readonly cache: Cache<T>;
  private readonly handlers = new Set<InformerHandlers<T>>();
  private readonly log: Logger;
  private readonly backoff: Backoff;
  private readonly counters: InformerStats = {
    lists: 0,
    relists: 0,
    watches: 0,
    staleWatches: 0,
    failures: 0,
    events: 0,
    bookmarks: 0,
    replays: 0,
  };
  private resourceVersion = '';
  /** Whether the last watch delivered any event before it ended. */
  private watchDelivered = false;
  private synced = false;
  private syncWaiters: (() => void)[] = [];
  private abort: AbortController | undefined;
  private loop: Promise<void> | undefined;
  /** Callers of relist() waiting for a list that started after they asked. */
  private relistWaiters: (() => void)[] = [];
  /** Aborts the watch in progress, so that a requested relist need not wait for it to end. */
  private watchAbort: AbortController | undefined;

  constructor(
    private readonly client: KubeClient,
    readonly resource: ResourceDescriptor,
    private readonly options: InformerOptions<T> = {},
  ) {
    this.cache = new Cache<T>(options.indexers);
    this.log = options.logger ?? silentLogger;
    this.backoff = new Backoff(options.backoff);
  }

  /**
   * Registers handlers; returns a function that removes them. A handler added after the first
   * list gets every cached object as an add first, so it starts from the same view as the cache.
   */
  addHandlers(handlers: InformerHandlers<T>): () => void {
    this.handlers.add(handlers);
    if (this.synced) for (const obj of this.cache.list()) this.call(handlers, 'onAdd', obj, true);
    return () => this.handlers.delete(handlers);
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves once the first list is in the cache; false when the signal aborted first. */
  waitForSync(signal?: AbortSignal): Promise<boolean> {
    if (this.synced) return Promise.resolve(true);
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = () => resolve(true);
      this.syncWaiters.push(done);
      signal?.addEventListener(
        'abort',
        () => {
          this.syncWaiters = this.syncWaiters.filter((w) => w !== done);
          resolve(false);
        },
        { once: true },
      );
    });
  }

  /**
   * Lists again now and replaces the cache (emitting what changed), then watches on from there.
   * Resolves once a list that started after this call is in the cache — a view at least as new as
   * the moment of asking, where the watch may lag behind. A replica that takes over the lease asks
   * for it before it allocates. Resolves at once when the informer was never started.
   */
  relist(): Promise<void> {
    if (!this.loop || this.abort?.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      this.relistWaiters.push(resolve);
      this.watchAbort?.abort();
    });
  }

  /** The resourceVersion the cache is current to (from the last list, event or bookmark). */
  lastSyncResourceVersion(): string {
    return this.resourceVersion;
  }

  stats(): InformerStats {
    return { ...this.counters };
  }

  start(): void {
    if (this.loop) return;
    this.abort = new AbortController();
    this.loop = this.run(this.abort.signal);
  }

  async stop(): Promise<void> {
    this.abort?.abort();
    await this.loop;
  }

  private async run(signal: AbortSignal): Promise<void> {
    let needList = true;
    let goneInARow = 0;
    while (!signal.aborted) {
      try {
        if (this.relistWaiters.length > 0) needList = true;
        if (needList) {
          await this.listAndReplace(signal);
          needList = false;
        }
        await this.watch(signal);
      } catch (err) {
        if (signal.aborted) break;
        // The watch was cut short for a relist: nothing failed.
        if (this.relistWaiters.length > 0 && !needList) continue;
        if (isGone(err)) {
          // Our resourceVersion is older than etcd's compacted history: only a new list can
          // tell us what changed meanwhile.
          this.log.info(
            { resource: this.resource.plural, err: String(err) },
            'watch history expired, listing again',
          );
          needList = true;
          // Gone again right after a fresh list means something is off; do not hammer the server.
          goneInARow = this.watchDelivered ? 1 : goneInARow + 1;
          if (goneInARow > 1) await sleep(this.backoff.next(), signal);
          continue;
        }
        if (err instanceof StaleWatch) {
          this.counters.staleWatches++;
          this.log.warn({ resource: this.resource.plural }, 'watch silent for too long, reopening it');
          continue;
        }
        this.counters.failures++;
        const delay = this.backoff.next();
        this.log.warn(
          { resource: this.resource.plural, err: String(err), retryInMs: Math.round(delay) },
          'list/watch failed, retrying',
        );
        await sleep(delay, signal);
      }
    }
    // Stopped: nobody waits for a list that will not come.
    for (const done of this.relistWaiters.splice(0)) done();
  }

  private async listAndReplace(signal: AbortSignal): Promise<void> {
    // Whoever asked for a relist before this list started is served by it; a failed list keeps them.
    const served = this.relistWaiters.splice(0);
    try {
      await this.listAndReplaceOnce(signal);
    } catch (err) {
      this.relistWaiters.unshift(...served);
      throw err;
    }
    for (const done of served) done();
  }

  private async listAndReplaceOnce(signal: AbortSignal): Promise<void> {
    const { items, resourceVersion } = await this.client.listAll<T>(this.resource, {
      namespace: this.options.namespace,
      labelSelector: this.options.labelSelector,
      fieldSelector: this.options.fieldSelector,
      limit: this.options.pageSize ?? 500,
      signal,
      map: (item) => this.transform(item),
      onPage: (listed, remaining) => this.options.onListProgress?.(listed + (remaining ?? 0)),
    });
    if (signal.aborted) return;
    this.counters.lists++;
    if (this.synced) this.counters.relists++;
    const initial = !this.synced;
    const listed = new Set(items.map(objectKey));
    // Whatever the cache holds that the list lacks was deleted while we were not watching. Those
    // deletions are told first: an address freed while we were away and handed out again since
    // must not look, for a moment, held by both the old object and the new one (a false
    // duplicate alarm).
    for (const key of this.cache.keys()) {
      if (listed.has(key)) continue;
      const gone = this.cache.remove(key);
      if (gone) this.emit('onDelete', gone);
    }
    for (const obj of items) this.upsert(obj, initial);
    this.advance(resourceVersion);
    this.backoff.reset();
    for (const h of this.handlers) {
      try {
        h.onListed?.(resourceVersion);
      } catch (err) {
        this.log.error(
          { resource: this.resource.plural, err: String(err) },
          'informer onListed handler threw',
        );
      }
    }
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w();
    }
  }

  private async watch(signal: AbortSignal): Promise<void> {
    const [minS, maxS] = this.options.watchTimeoutSeconds ?? [300, 600];
    const timeoutSeconds = Math.round(minS + Math.random() * (maxS - minS));
    const staleAfterMs = this.options.staleAfterMs ?? 150_000;
    const watchAbort = new AbortController();
    this.watchAbort = watchAbort;
    // A relist asked for between the list and this watch: do not open it at all.
    if (this.relistWaiters.length > 0) watchAbort.abort();
    const onStop = () => watchAbort.abort();
    signal.addEventListener('abort', onStop, { once: true });
    let stale = false;
    const watchdog = setTimeout(() => {
      stale = true;
      watchAbort.abort();
    }, staleAfterMs);
    this.counters.watches++;
    let received = 0;
    try {
      const events = this.client.watch<T>(this.resource, {
        namespace: this.options.namespace,
        labelSelector: this.options.labelSelector,
        fieldSelector: this.options.fieldSelector,
        resourceVersion: this.resourceVersion,
        allowBookmarks: true,
        timeoutSeconds,
        signal: watchAbort.signal,
      });
      for await (const event of events) {
        watchdog.refresh();
        received++;
        this.counters.events++;
        switch (event.type) {
          case 'ADDED':
          case 'MODIFIED':
          case 'DELETED': {
            // A watch delivers revisions above the one it started from; anything at or below
            // what we have already seen (events or bookmarks) is a replay, also for objects
            // deleted since, which the cache no longer holds to compare with.
            const order = compareResourceVersions(
              event.object.metadata.resourceVersion,
              this.resourceVersion,
            );
            if (order !== undefined && order <= 0) {
              this.counters.replays++;
              continue;
            }
            const obj = this.transform(event.object);
            if (event.type === 'DELETED') this.remove(obj);
            else this.upsert(obj, false);
            break;
          }
          case 'BOOKMARK':
            // Only moves our resourceVersion on, so a reconnect resumes from a recent point
            // even when nothing we watch has changed for a long time.
            this.counters.bookmarks++;
            break;
          case 'ERROR': {
            const code = event.object.code ?? 0;
            const reason = code === 410 || event.object.reason === 'Expired' ? 'Gone' : 'Unknown';
            throw new KubeApiError(
              reason,
              `watch ${this.resource.plural}: ${event.object.message}`,
              code,
              event.object,
            );
          }
        }
        this.advance(event.object.metadata.resourceVersion);
        // A watch that delivers is a healthy connection: the next failure starts from a short delay.
        this.backoff.reset();
      }
    } catch (err) {
      if (stale && !signal.aborted) throw new StaleWatch();
      throw err;
    } finally {
      this.watchDelivered = received > 0;
      clearTimeout(watchdog);
      signal.removeEventListener('abort', onStop);
    }
    if (stale && !signal.aborted) throw new StaleWatch();
    // A server that ends watches at once (shutting down, or a proxy in between) must not make us
    // spin; a quiet watch that simply timed out loses nothing by waiting a moment.
    if (received === 0 && this.relistWaiters.length === 0) await sleep(this.backoff.next(), signal);
  }

  private transform(obj: T): T {
    return this.options.transform ? this.options.transform(obj) : obj;
  }

  private upsert(obj: T, initialList: boolean): void {
    const key = objectKey(obj);
    const old = this.cache.get(key);
    if (old) {
      // Equal or older than what we hold: a replay after reconnecting, or a relist racing a watch.
      const order = compareResourceVersions(obj.metadata.resourceVersion, old.metadata.resourceVersion);
      if (order !== undefined && order <= 0) return;
      this.cache.upsert(obj);
      if (old.metadata.uid && obj.metadata.uid && old.metadata.uid !== obj.metadata.uid) {
        // Deleted and created again under the same name while we were away.
        this.emit('onDelete', old);
        this.emit('onAdd', obj, initialList);
      } else {
        this.emit('onUpdate', old, obj);
      }
      return;
    }
    this.cache.upsert(obj);
    this.emit('onAdd', obj, initialList);
  }

  private remove(obj: T): void {
    const key = objectKey(obj);
    const old = this.cache.get(key);
    if (!old) return;
    const order = compareResourceVersions(obj.metadata.resourceVersion, old.metadata.resourceVersion);
    if (order !== undefined && order < 0) return;
    this.cache.remove(key);
    // If another incarnation was deleted (we missed this one's creation), report the one we knew.
    const sameObject = !old.metadata.uid || !obj.metadata.uid || old.metadata.uid === obj.metadata.uid;
    this.emit('onDelete', sameObject ? obj : old);
  }

  /** Moves our resourceVersion forward only: a watch resumes from the newest point we have seen. */
  private advance(rv: string | undefined): void {
    if (!rv) return;
    const order = compareResourceVersions(rv, this.resourceVersion);
    if (order === undefined || order > 0) this.resourceVersion = rv;
  }

  private emit(kind: 'onAdd', obj: T, initialList: boolean): void;
  private emit(kind: 'onUpdate', oldObj: T, newObj: T): void;
  private emit(kind: 'onDelete', obj: T): void;
  private emit(kind: keyof InformerHandlers<T>, a: T, b?: T | boolean): void {
    for (const h of this.handlers) this.call(h, kind, a, b);
  }

  private call(h: InformerHandlers<T>, kind: keyof InformerHandlers<T>, a: T, b?: T | boolean): void {
    try {
      if (kind === 'onAdd') h.onAdd?.(a, b === true);
      else if (kind === 'onUpdate') h.onUpdate?.(a, b as T);
      else h.onDelete?.(a);
    } catch (err) {
      // One broken handler must not stop the cache (and every other handler) from following.
      this.log.error({ resource: this.resource.plural, err: String(err) }, `informer ${kind} handler threw`);
    }
  }
}

/** Resolves when every informer has synced; false if the signal aborted first. */
export async function waitForCacheSync(
  informers: readonly { waitForSync(signal?: AbortSignal): Promise<boolean> }[],
  signal?: AbortSignal,
): Promise<boolean> {
  const results = await Promise.all(informers.map((i) => i.waitForSync(signal)));
  return results.every(Boolean);
}
