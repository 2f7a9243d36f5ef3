import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeClient } from '../../src/kube/client.js';
import { Informer } from '../../src/kube/informer.js';
import { ControlPlane } from '../harness/control-plane.js';
import { waitFor } from '../harness/wait.js';
import { type ConfigMap, clientFor, configMaps, TcpProxy } from './helpers.js';

// A control plane of this file's own: these tests kill and restart the API server and compact
// etcd. Without the watch cache every watch is served from etcd, so a watch from a compacted
// resourceVersion gets 410 Gone as it would from a long-running cluster's history.
describe('Informer through API-server faults', () => {
  let cp: ControlPlane;
  let client: KubeClient;
  const namespace = 'faults';
  const informers: Informer<ConfigMap>[] = [];

  beforeAll(async () => {
    cp = await ControlPlane.start({ apiServerArgs: ['--watch-cache=false'] });
    const res = await cp.access.request('POST', '/api/v1/namespaces', { metadata: { name: namespace } });
    if (res.status !== 201) throw new Error(`creating namespace: ${res.status} ${res.text}`);
    client = clientFor(cp.info);
  });

  afterAll(async () => {
    await Promise.all(informers.map((i) => i.stop()));
    await client?.close();
    await cp?.stop();
  });

  /** Handlers' view as `type name@rv` lines, plus a list of every (name, rv) they were given. */
  function record(informer: Informer<ConfigMap>): string[] {
    const log: string[] = [];
    informer.addHandlers({
      onAdd: (o) => log.push(`write ${o.metadata.name}@${o.metadata.resourceVersion}`),
      onUpdate: (_, o) => log.push(`write ${o.metadata.name}@${o.metadata.resourceVersion}`),
      onDelete: (o) => log.push(`delete ${o.metadata.name}`),
    });
    return log;
  }

  async function cacheMatchesServer(informer: Informer<ConfigMap>, labelSelector: string): Promise<boolean> {
    const server = await client.listAll<ConfigMap>(configMaps, { namespace, labelSelector });
    const want = server.items.map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`).sort();
    const have = informer.cache.list().map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`);
    return JSON.stringify(want) === JSON.stringify(have.sort());
  }

  it('catches up after the API server is killed and restarted mid-watch, losing and repeating nothing', async () => {
    const informer = new Informer<ConfigMap>(client, configMaps, {
      namespace,
      labelSelector: 'set=restart',
      backoff: { initialMs: 100, maxMs: 1000 },
    });
    informers.push(informer);
    const log = record(informer);
    informer.start();
    await informer.waitForSync();

    // Every write the server acknowledged, as the handlers should see it.
    const acknowledged: string[] = [];
    const live: string[] = [];
    async function writeBatch(phase: string): Promise<void> {
      for (let i = 0; i < 10; i++) {
        const name = `${phase}-${i}`;
        const cm = await client.create<ConfigMap>(configMaps, {
          metadata: { name, namespace, labels: { set: 'restart' } },
        });
        acknowledged.push(`write ${name}@${cm.metadata.resourceVersion}`);
        live.push(name);
      }
      for (const name of live.slice(-8, -3)) {
        const cm = await client.patch<ConfigMap>(configMaps, name, { data: { phase } }, { namespace });
        acknowledged.push(`write ${name}@${cm.metadata.resourceVersion}`);
      }
      for (const name of live.splice(0, 3)) {
        await client.delete(configMaps, name, namespace);
        acknowledged.push(`delete ${name}`);
      }
    }

    await writeBatch('before');
    await waitFor('the first batch', () => log.length === acknowledged.length);

    await cp.stopApiServer('SIGKILL');
    await cp.startApiServer();
    await writeBatch('after-kill'); // while the informer is still backing off

    await cp.restartApiServer('SIGTERM');
    await writeBatch('after-restart');

    await waitFor('the cache to match the server', () => cacheMatchesServer(informer, 'set=restart'));
    await waitFor('every acknowledged write', () => log.length >= acknowledged.length);
    expect(new Set(log).size, 'no event delivered twice').toBe(log.length);
    expect([...log].sort()).toEqual([...acknowledged].sort());
    const stats = informer.stats();
    expect(stats.failures, 'the outages were noticed').toBeGreaterThanOrEqual(2);
    // etcd kept the history, so resuming from our resourceVersion was enough: no relist.
    expect(stats.relists).toBe(0);
  });

  it('gets 410 Gone when its watch resumes from before etcd compaction, and relists', async () => {
    for (const name of ['keep', 'gone', 'change']) {
      await client.create(configMaps, { metadata: { name, namespace, labels: { set: 'compact' } } });
    }
    const proxy = await TcpProxy.start(cp.info.server);
    const viaProxy = clientFor(cp.info, { server: proxy.url });
    try {
      const informer = new Informer<ConfigMap>(viaProxy, configMaps, {
        namespace,
        labelSelector: 'set=compact',
        backoff: { initialMs: 100, maxMs: 1000 },
      });
      informers.push(informer);
      const log = record(informer);
      informer.start();
      await informer.waitForSync();
      await waitFor('the watch to open', () => informer.stats().watches === 1);
      const listed = log.length;

      // The informer hears nothing while things change and etcd forgets the history.
      proxy.freeze();
      await client.delete(configMaps, 'gone', namespace);
      const changed = await client.patch<ConfigMap>(
        configMaps,
        'change',
        { data: { v: '2' } },
        { namespace },
      );
      const added = await client.create<ConfigMap>(configMaps, {
        metadata: { name: 'new', namespace, labels: { set: 'compact' } },
      });
      await cp.compactEtcd();
      proxy.sever();

      await waitFor('a relist', () => informer.stats().relists >= 1);
      await waitFor('the cache to match the server', () => cacheMatchesServer(informer, 'set=compact'));
      expect(log.slice(listed).sort()).toEqual(
        [
          'delete gone',
          `write change@${changed.metadata.resourceVersion}`,
          `write new@${added.metadata.resourceVersion}`,
        ].sort(),
      );
    } finally {
      await viaProxy.close();
      await proxy.close();
    }
  });
});
