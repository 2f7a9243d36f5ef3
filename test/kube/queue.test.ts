import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { KubeClient } from '../../src/kube/client.js';
import { Informer } from '../../src/kube/informer.js';
import { WorkQueue } from '../../src/kube/queue.js';
import { compareResourceVersions, splitObjectKey } from '../../src/kube/resource.js';
import { enqueueChanges, runWorkers } from '../../src/kube/workers.js';
import { useNamespace } from '../harness/namespace.js';
import { waitFor } from '../harness/wait.js';
import { type ConfigMap, clientFor, configMaps } from './helpers.js';

describe('informer → work queue → workers under real churn', () => {
  const ns = useNamespace('kube-queue');
  const info = inject('cluster');
  let client: KubeClient;

  beforeAll(() => {
    client = clientFor(info);
  });

  afterAll(async () => {
    await client.close();
  });

  it('never reconciles one key twice at once, and reconciles every key’s final state (randomized)', async () => {
    const names = Array.from({ length: 6 }, (_, i) => `churn-${i}`);
    for (const name of names) {
      await client.create(configMaps, { metadata: { name, namespace: ns.name, labels: { set: 'queue' } } });
    }
    const informer = new Informer<ConfigMap>(client, configMaps, {
      namespace: ns.name,
      labelSelector: 'set=queue',
    });
    const queue = new WorkQueue<string>();
    informer.addHandlers(enqueueChanges(queue));
    informer.start();
    await informer.waitForSync();

    const active = new Set<string>();
    let overlaps = 0;
    let failures = 0;
    const failedOnce = new Set<string>();
    const reconciledVersion = new Map<string, string>();
    const workers = runWorkers(
      queue,
      async (key) => {
        if (active.has(key)) overlaps++;
        active.add(key);
        try {
          const version = informer.cache.get(key)?.metadata.resourceVersion ?? '';
          // A real round trip (and sometimes two) while the key is held.
          const { name, namespace } = splitObjectKey(key);
          await client.get(configMaps, name, namespace);
          if (Math.random() < 0.3) await client.get(configMaps, name, namespace);
          // Every key's first attempt fails, and some later ones: retries must keep the order too.
          if (!failedOnce.has(key) || Math.random() < 0.1) {
            failedOnce.add(key);
            failures++;
            throw new Error('simulated failure');
          }
          const before = reconciledVersion.get(key);
          if (!before || (compareResourceVersions(version, before) ?? 0) > 0)
            reconciledVersion.set(key, version);
        } finally {
          active.delete(key);
        }
      },
      { workers: 4 },
    );

    // Five writers change random objects while the workers run.
    let writes = 0;
    await Promise.all(
      Array.from({ length: 5 }, async () => {
        for (let i = 0; i < 30; i++) {
          const name = names[Math.floor(Math.random() * names.length)] as string;
          await client.patch(configMaps, name, { data: { n: String(++writes) } }, { namespace: ns.name });
        }
      }),
    );

    const final = await client.listAll<ConfigMap>(configMaps, {
      namespace: ns.name,
      labelSelector: 'set=queue',
    });
    await waitFor('every object reconciled at its final version', () =>
      final.items.every(
        (o) => reconciledVersion.get(`${ns.name}/${o.metadata.name}`) === o.metadata.resourceVersion,
      ),
    );
    await workers.stop({ drain: true });
    await informer.stop();
    expect(overlaps).toBe(0);
    expect(failures).toBeGreaterThanOrEqual(names.length);
    expect(writes).toBe(150);
  });
});
