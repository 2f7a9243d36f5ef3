import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { KubeClient } from '../../src/kube/client.js';
import { byLabel } from '../../src/kube/indexes.js';
import { Informer } from '../../src/kube/informer.js';
import { compareResourceVersions } from '../../src/kube/resource.js';
import { uniqueName, useNamespace } from '../harness/namespace.js';
import { waitFor } from '../harness/wait.js';
import { type ConfigMap, clientFor, configMaps, TcpProxy } from './helpers.js';

/** Records what handlers saw, as `type name@resourceVersion`. */
function record(informer: Informer<ConfigMap>): string[] {
  const log: string[] = [];
  informer.addHandlers({
    onAdd: (o) => log.push(`add ${o.metadata.name}@${o.metadata.resourceVersion}`),
    onUpdate: (_, o) => log.push(`update ${o.metadata.name}@${o.metadata.resourceVersion}`),
    onDelete: (o) => log.push(`delete ${o.metadata.name}`),
  });
  return log;
}

describe('Informer against the API server', () => {
  const ns = useNamespace('kube-informer');
  const info = inject('cluster');
  let client: KubeClient;
  const informers: Informer<ConfigMap>[] = [];

  const informer = (opts: ConstructorParameters<typeof Informer<ConfigMap>>[2] = {}, via = client) => {
    const i = new Informer<ConfigMap>(via, configMaps, { namespace: ns.name, ...opts });
    informers.push(i);
    return i;
  };

  beforeAll(() => {
    client = clientFor(info);
  });

  afterAll(async () => {
    await Promise.all(informers.map((i) => i.stop()));
    await client.close();
  });

  it('lists in pages, reports synced, and hands every listed object to the handlers', async () => {
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        client.create(configMaps, {
          metadata: { name: `listed-${i}`, namespace: ns.name, labels: { set: 'listed' } },
        }),
      ),
    );
    const i = informer({ labelSelector: 'set=listed', pageSize: 7 });
    const initial: boolean[] = [];
    i.addHandlers({ onAdd: (_, isInitial) => initial.push(isInitial) });
    expect(i.hasSynced()).toBe(false);
    i.start();
    expect(await i.waitForSync()).toBe(true);
    expect(i.cache.size).toBe(30);
    expect(initial).toEqual(Array(30).fill(true));
    expect(i.stats().lists).toBe(1);
  });

  it('tells while listing how many objects the collection holds', async () => {
    const own = uniqueName('kube-informer-progress');
    await client.create(
      { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false },
      { metadata: { name: own } },
    );
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        client.create(configMaps, { metadata: { name: `p-${i}`, namespace: own } }),
      ),
    );
    const reports: number[] = [];
    const i = new Informer<ConfigMap>(client, configMaps, {
      namespace: own,
      pageSize: 5,
      onListProgress: (n) => reports.push(n),
    });
    informers.push(i);
    i.start();
    await i.waitForSync();
    expect(i.cache.size).toBe(12);
    expect(reports).toHaveLength(3);
    expect(reports.at(-1)).toBe(12);
    // The first page knows the whole count when the server tells what remains, else its own 5.
    expect([5, 12]).toContain(reports[0]);
  });

  it('delivers adds, updates and deletes in order as they happen', async () => {
    const i = informer({ labelSelector: 'set=live' });
    const log = record(i);
    i.start();
    await i.waitForSync();
    const created = await client.create<ConfigMap>(configMaps, {
      metadata: { name: 'live', namespace: ns.name, labels: { set: 'live' } },
    });
    const patched = await client.patch<ConfigMap>(
      configMaps,
      'live',
      { data: { v: '2' } },
      { namespace: ns.name },
    );
    await client.delete(configMaps, 'live', ns.name);
    await waitFor('the delete', () => log.length === 3);
    expect(log).toEqual([
      `add live@${created.metadata.resourceVersion}`,
      `update live@${patched.metadata.resourceVersion}`,
      'delete live',
    ]);
    expect(i.cache.has(`${ns.name}/live`)).toBe(false);
  });

  it('keeps a label index current and replays the cache to a handler added late', async () => {
    const i = informer({ labelSelector: 'set=indexed', indexers: { color: byLabel('color') } });
    i.start();
    await i.waitForSync();
    for (const [name, color] of [
      ['red-1', 'red'],
      ['red-2', 'red'],
      ['blue-1', 'blue'],
    ] as const) {
      await client.create(configMaps, {
        metadata: { name, namespace: ns.name, labels: { set: 'indexed', color } },
      });
    }
    await waitFor('three cached', () => i.cache.size === 3);
    expect(
      i.cache
        .byIndex('color', 'red')
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual(['red-1', 'red-2']);
    await client.patch(
      configMaps,
      'red-2',
      { metadata: { labels: { color: 'blue' } } },
      { namespace: ns.name },
    );
    await waitFor('red-2 re-filed', () => i.cache.byIndex('color', 'blue').length === 2);
    expect(i.cache.byIndex('color', 'red').map((o) => o.metadata.name)).toEqual(['red-1']);
    const late: string[] = [];
    i.addHandlers({ onAdd: (o) => late.push(o.metadata.name ?? '') });
    expect(late.sort()).toEqual(['blue-1', 'red-1', 'red-2']);
  });

  it('moves its resourceVersion on with bookmarks while nothing it watches changes', async () => {
    const i = informer({ labelSelector: 'set=quiet', watchTimeoutSeconds: [5, 5] });
    i.start();
    await i.waitForSync();
    const start = i.lastSyncResourceVersion();
    // Changes elsewhere move the server's resourceVersion; ours follows only through bookmarks
    // (the watch cache sends one shortly before each watch times out).
    await client.create(configMaps, { metadata: { name: 'elsewhere', namespace: ns.name } });
    // The API server schedules bookmarks itself (before a watch's deadline, and about once a
    // minute); on a loaded machine the first one can take a while.
    await waitFor('a bookmark', () => i.stats().bookmarks > 0, { timeoutMs: 100_000 });
    expect(compareResourceVersions(i.lastSyncResourceVersion(), start)).toBe(1);
    expect(i.cache.size).toBe(0);
  }, 120_000);

  it('reopens a watch that has gone silent (half-open connection) and catches up', async () => {
    const proxy = await TcpProxy.start(info.server);
    const viaProxy = clientFor(info, { server: proxy.url, requestTimeoutMs: 5000 });
    try {
      const i = informer({ labelSelector: 'set=silent', staleAfterMs: 1000 }, viaProxy);
      const log = record(i);
      i.start();
      await i.waitForSync();
      await waitFor('the watch to open', () => i.stats().watches === 1);
      proxy.freeze(); // the open watch now delivers nothing, and nothing tells us so
      const created = await client.create<ConfigMap>(configMaps, {
        metadata: { name: 'during-silence', namespace: ns.name, labels: { set: 'silent' } },
      });
      await waitFor('the object created during the silence', () => log.length === 1);
      expect(log).toEqual([`add during-silence@${created.metadata.resourceVersion}`]);
      expect(i.stats().staleWatches).toBeGreaterThanOrEqual(1);
      expect(i.stats().lists).toBe(1);
    } finally {
      await viaProxy.close();
      await proxy.close();
    }
  });

  it('relists on demand: what its lagging watch has not delivered is in the cache once relist() resolves', async () => {
    const proxy = await TcpProxy.start(info.server);
    const viaProxy = clientFor(info, { server: proxy.url, requestTimeoutMs: 3000 });
    try {
      const i = informer({ labelSelector: 'set=relist', staleAfterMs: 120_000 }, viaProxy);
      const log = record(i);
      i.start();
      await i.waitForSync();
      await waitFor('the watch to open', () => i.stats().watches === 1);
      proxy.freeze(); // the open watch lags without end; new connections still get through
      const created = await client.create<ConfigMap>(configMaps, {
        metadata: { name: 'behind-the-watch', namespace: ns.name, labels: { set: 'relist' } },
      });
      await i.relist();
      expect(i.cache.get(`${ns.name}/behind-the-watch`)?.metadata.resourceVersion).toBe(
        created.metadata.resourceVersion,
      );
      expect(log).toEqual([`add behind-the-watch@${created.metadata.resourceVersion}`]);
      expect(i.stats()).toMatchObject({ lists: 2, relists: 1, staleWatches: 0 });
      // And it watches on from the new list.
      const patched = await client.patch<ConfigMap>(
        configMaps,
        'behind-the-watch',
        { data: { v: '2' } },
        { namespace: ns.name },
      );
      await waitFor('the update after the relist', () => log.length === 2);
      expect(log[1]).toBe(`update behind-the-watch@${patched.metadata.resourceVersion}`);
    } finally {
      await viaProxy.close();
      await proxy.close();
    }
  });

  it('relist() of an informer never started resolves at once', async () => {
    await informer({ labelSelector: 'set=never' }).relist();
  });

  it('waitForSync gives up when its signal aborts', async () => {
    const i = informer({ labelSelector: 'set=never-started' });
    const ac = new AbortController();
    const waiting = i.waitForSync(ac.signal);
    ac.abort();
    expect(await waiting).toBe(false);
  });
});
