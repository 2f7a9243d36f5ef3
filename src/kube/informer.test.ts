import { afterEach, describe, expect, it } from 'vitest';
import type { KubeClient, WatchEvent, WatchOptions } from './client.js';
import { KubeApiError } from './errors.js';
import { Informer } from './informer.js';
import type { KubeObject, ResourceDescriptor } from './resource.js';

const widgets: ResourceDescriptor = {
  group: 'x.test',
  version: 'v1',
  plural: 'widgets',
  namespaced: true,
  kind: 'Widget',
};

type Event = WatchEvent<KubeObject>;

/** One watch response: the test pushes events into it, ends it or breaks it. */
class Stream {
  private buffered: (Event | Error | null)[] = [];
  private wake: (() => void) | undefined;

  push(e: Event | Error | null): void {
    this.buffered.push(e);
    this.wake?.();
  }

  async *events(signal?: AbortSignal): AsyncGenerator<Event> {
    for (;;) {
      while (this.buffered.length === 0) {
        if (signal?.aborted) throw new Error('aborted');
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          signal?.addEventListener('abort', () => resolve(), { once: true });
        });
      }
      const next = this.buffered.shift();
      if (next === null || next === undefined) return;
      if (next instanceof Error) throw next;
      yield next;
    }
  }
}

/** Stands in for KubeClient's listAll and watch, scripted by the test. */
class FakeServer {
  objects = new Map<string, KubeObject>();
  revision = 0;
  watchedFrom: string[] = [];
  streams: Stream[] = [];
  goneOnNextWatch = false;

  put(name: string, uid = `uid-${name}`): KubeObject {
    const obj = { metadata: { namespace: 'n', name, uid, resourceVersion: String(++this.revision) } };
    this.objects.set(name, obj);
    return obj;
  }

  async listAll(): Promise<{ items: KubeObject[]; resourceVersion: string }> {
    return {
      items: [...this.objects.values()].map((o) => structuredClone(o)),
      resourceVersion: String(this.revision),
    };
  }

  async *watch(_r: ResourceDescriptor, opts: WatchOptions): AsyncGenerator<Event> {
    this.watchedFrom.push(opts.resourceVersion ?? '');
    if (this.goneOnNextWatch) {
      this.goneOnNextWatch = false;
      throw new KubeApiError('Gone', 'too old resource version', 410);
    }
    const stream = new Stream();
    this.streams.push(stream);
    yield* stream.events(opts.signal);
  }

  get stream(): Stream {
    const s = this.streams.at(-1);
    if (!s) throw new Error('no watch open');
    return s;
  }
}

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  throw new Error(`never happened: ${what}`);
}

describe('Informer (against a scripted server)', () => {
  let informer: Informer<KubeObject> | undefined;
  afterEach(async () => {
    await informer?.stop();
  });

  /** The resourceVersions onListed was told, in order. */
  let lists: string[] = [];

  function start(server: FakeServer, staleAfterMs?: number): string[] {
    const log: string[] = [];
    lists = [];
    informer = new Informer<KubeObject>(server as unknown as KubeClient, widgets, {
      backoff: { initialMs: 1, maxMs: 5 },
      staleAfterMs,
    });
    informer.addHandlers({
      onAdd: (o, initial) =>
        log.push(`add ${o.metadata.name}@${o.metadata.resourceVersion}${initial ? ' initial' : ''}`),
      onUpdate: (a, b) =>
        log.push(`update ${b.metadata.name}@${a.metadata.resourceVersion}->${b.metadata.resourceVersion}`),
      onDelete: (o) => log.push(`delete ${o.metadata.name}@${o.metadata.resourceVersion}`),
      onListed: (rv) => lists.push(rv),
    });
    informer.start();
    return log;
  }

  it('lists, marks itself synced, then watches from the list resourceVersion', async () => {
    const server = new FakeServer();
    server.put('a');
    server.put('b');
    const log = start(server);
    expect(await informer?.waitForSync()).toBe(true);
    expect(informer?.hasSynced()).toBe(true);
    expect(log).toEqual(['add a@1 initial', 'add b@2 initial']);
    expect(lists).toEqual(['2']);
    await until('watch opened', () => server.streams.length === 1);
    expect(server.watchedFrom).toEqual(['2']);
  });

  it('ignores replayed and older events, so handlers never see an object go backwards', async () => {
    const server = new FakeServer();
    const a1 = server.put('a');
    const log = start(server);
    await until('watch opened', () => server.streams.length === 1);
    const a2 = server.put('a');
    server.stream.push({ type: 'MODIFIED', object: a2 });
    server.stream.push({ type: 'MODIFIED', object: a2 }); // duplicate
    server.stream.push({ type: 'MODIFIED', object: a1 }); // older
    const b = server.put('b');
    server.stream.push({ type: 'ADDED', object: b });
    await until('b seen', () => log.length === 3);
    expect(log).toEqual(['add a@1 initial', 'update a@1->2', 'add b@3']);
    expect(informer?.lastSyncResourceVersion()).toBe('3');
    expect(informer?.stats().replays).toBe(2);
  });

  it('does not bring back a deleted object when an older event for it is replayed', async () => {
    const server = new FakeServer();
    const a1 = server.put('a');
    const log = start(server);
    await until('watch opened', () => server.streams.length === 1);
    server.objects.delete('a');
    const deleted = { metadata: { ...a1.metadata, resourceVersion: String(++server.revision) } };
    server.stream.push({ type: 'DELETED', object: deleted });
    server.stream.push({ type: 'MODIFIED', object: a1 });
    server.stream.push({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '5' } } });
    await until('bookmark seen', () => informer?.lastSyncResourceVersion() === '5');
    expect(log).toEqual(['add a@1 initial', 'delete a@2']);
    expect(informer?.cache.size).toBe(0);
  });

  it('reports an object replaced under the same name as a delete and an add', async () => {
    const server = new FakeServer();
    server.put('a', 'first');
    const log = start(server);
    await until('watch opened', () => server.streams.length === 1);
    server.stream.push({ type: 'ADDED', object: server.put('a', 'second') });
    await until('replacement seen', () => log.length === 3);
    expect(log).toEqual(['add a@1 initial', 'delete a@1', 'add a@2']);
  });

  it('reconnects from the last resourceVersion after the stream breaks, and relists after 410 Gone', async () => {
    const server = new FakeServer();
    server.put('keep');
    server.put('gone');
    server.put('changes');
    const log = start(server);
    await until('watch opened', () => server.streams.length === 1);
    const bookmark = { metadata: { resourceVersion: '10' } };
    server.revision = 10;
    server.stream.push({ type: 'BOOKMARK', object: bookmark });
    server.stream.push(new KubeApiError('Unavailable', 'connection reset', 0));
    await until('second watch', () => server.streams.length === 2);
    expect(server.watchedFrom).toEqual(['3', '10']);
    // While we are away, history is compacted and things change.
    server.objects.delete('gone');
    server.put('changes');
    server.put('new');
    server.goneOnNextWatch = true;
    server.stream.push(null);
    await until('relisted', () => (informer?.stats().relists ?? 0) === 1 && server.streams.length === 3);
    // Deletions first: what the list lacks went before what it holds came.
    expect(log.slice(3)).toEqual(['delete gone@2', 'update changes@3->11', 'add new@12']);
    expect(lists).toEqual(['3', '12']);
    expect(informer?.cache.keys().sort()).toEqual(['n/changes', 'n/keep', 'n/new']);
    expect(server.watchedFrom.at(-1)).toBe('12');
  });

  it('treats an ERROR event with code 410 like Gone and lists again', async () => {
    const server = new FakeServer();
    server.put('a');
    start(server);
    await until('watch opened', () => server.streams.length === 1);
    server.stream.push({
      type: 'ERROR',
      object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old' },
    });
    await until('relisted', () => informer?.stats().lists === 2);
  });

  it('reopens a watch that stays silent longer than the staleness limit', async () => {
    const server = new FakeServer();
    start(server, 20);
    await until('watch reopened', () => server.streams.length >= 2);
    expect(informer?.stats().staleWatches).toBeGreaterThanOrEqual(1);
    expect(informer?.stats().lists).toBe(1);
  });
});
