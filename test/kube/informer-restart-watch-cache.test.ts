import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeClient } from '../../src/kube/client.js';
import { Informer } from '../../src/kube/informer.js';
import { ControlPlane } from '../harness/control-plane.js';
import { waitFor } from '../harness/wait.js';
import { type ConfigMap, clientFor, configMaps } from './helpers.js';

// The same restart as in informer-faults.test.ts, but with the API server's watch cache on, as in
// real clusters. A restarted server's cache starts at the current revision, so resuming an older
// watch may be answered 410 and the informer relists: intermediate states of an object may then
// be skipped (as with client-go), but nothing may be delivered twice, go backwards, or be missed
// in the end state.
describe('Informer through an API-server restart with the watch cache on', () => {
  let cp: ControlPlane;
  let client: KubeClient;
  let informer: Informer<ConfigMap> | undefined;
  const namespace = 'restart';

  beforeAll(async () => {
    cp = await ControlPlane.start();
    const res = await cp.access.request('POST', '/api/v1/namespaces', { metadata: { name: namespace } });
    if (res.status !== 201) throw new Error(`creating namespace: ${res.status} ${res.text}`);
    client = clientFor(cp.info);
  });

  afterAll(async () => {
    await informer?.stop();
    await client?.close();
    await cp?.stop();
  });

  it('ends with the server’s state, each object’s versions in order, and no event twice', async () => {
    informer = new Informer<ConfigMap>(client, configMaps, {
      namespace,
      backoff: { initialMs: 100, maxMs: 1000 },
    });
    const seen: string[] = [];
    const versions = new Map<string, bigint[]>();
    const deletes = new Map<string, number>();
    const note = (o: ConfigMap) => {
      const name = o.metadata.name ?? '';
      seen.push(`${name}@${o.metadata.resourceVersion}`);
      versions.set(name, [...(versions.get(name) ?? []), BigInt(o.metadata.resourceVersion ?? '0')]);
    };
    informer.addHandlers({
      onAdd: note,
      onUpdate: (_, o) => note(o),
      onDelete: (o) => deletes.set(o.metadata.name ?? '', (deletes.get(o.metadata.name ?? '') ?? 0) + 1),
    });
    informer.start();
    await informer.waitForSync();

    const deleted: string[] = [];
    let n = 0;
    const churn = async (phase: string) => {
      for (let i = 0; i < 10; i++) {
        await client.create(configMaps, { metadata: { name: `${phase}-${i}`, namespace } });
        await client.patch(configMaps, `${phase}-${i}`, { data: { n: String(++n) } }, { namespace });
      }
      for (const i of [0, 1]) {
        await client.delete(configMaps, `${phase}-${i}`, namespace);
        deleted.push(`${phase}-${i}`);
      }
    };

    await churn('before');
    await cp.stopApiServer('SIGKILL');
    await cp.startApiServer();
    await churn('after-kill');
    await cp.restartApiServer('SIGTERM');
    await churn('after-restart');

    await waitFor('the cache to match the server', async () => {
      const server = await client.listAll<ConfigMap>(configMaps, { namespace });
      const want = server.items.map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`).sort();
      const have =
        informer?.cache.list().map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`) ?? [];
      return JSON.stringify(want) === JSON.stringify(have.sort());
    });
    expect(new Set(seen).size, 'no version delivered twice').toBe(seen.length);
    for (const [name, list] of versions) {
      expect(
        list.every((v, i) => i === 0 || v > (list[i - 1] ?? 0n)),
        `${name} in order`,
      ).toBe(true);
    }
    for (const name of deleted) expect(deletes.get(name), `${name} deleted once`).toBe(1);
    process.stderr.write(`watch cache on, after two restarts: ${JSON.stringify(informer.stats())}\n`);
    expect(informer.stats().failures).toBeGreaterThanOrEqual(2);
  });
});
