import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { KubeClient } from '../../src/kube/client.js';
import { type CoreEvent, EventRecorder, eventResource } from '../../src/kube/events.js';
import { uniqueName, useNamespace } from '../harness/namespace.js';
import { type ConfigMap, clientFor, configMaps } from './helpers.js';

describe('EventRecorder', () => {
  const ns = useNamespace('kube-events');
  const info = inject('cluster');
  let client: KubeClient;

  beforeAll(() => {
    client = clientFor(info);
  });

  afterAll(async () => {
    await client.close();
  });

  const eventsAbout = async (name: string, namespace = ns.name) =>
    (
      await client.listAll<CoreEvent>(eventResource, {
        namespace,
        fieldSelector: `involvedObject.name=${name}`,
      })
    ).items;

  const subject = async (name: string) =>
    client.create<ConfigMap>(configMaps, { metadata: { name, namespace: ns.name } });

  it('records an event about an object, as kubectl describe shows it', async () => {
    const cm = await subject('described');
    const recorder = new EventRecorder({ client, component: 'ipam-test', instance: 'replica-1' });
    recorder.normal(cm, 'AddressAllocated', 'allocated 10.0.0.5 from pool ns/p');
    await recorder.flush();
    const [event, ...rest] = await eventsAbout('described');
    expect(rest).toEqual([]);
    expect(event?.involvedObject).toMatchObject({
      kind: 'ConfigMap',
      name: 'described',
      uid: cm.metadata.uid,
    });
    expect(event).toMatchObject({
      type: 'Normal',
      reason: 'AddressAllocated',
      message: 'allocated 10.0.0.5 from pool ns/p',
      count: 1,
      source: { component: 'ipam-test', host: 'replica-1' },
    });
  });

  it('folds identical repeats into one event with a count, and keeps different ones apart', async () => {
    const cm = await subject('repeated');
    const recorder = new EventRecorder({ client, component: 'ipam-test' });
    for (let i = 0; i < 5; i++) recorder.warning(cm, 'PoolExhausted', 'pool ns/p has no free address');
    recorder.warning(cm, 'PoolNotFound', 'pool ns/q not found');
    await recorder.flush();
    const events = await eventsAbout('repeated');
    const byReason = Object.fromEntries(events.map((e) => [e.reason, e.count]));
    expect(byReason).toEqual({ PoolExhausted: 5, PoolNotFound: 1 });
  });

  it('starts a new event when the one it was counting has expired', async () => {
    const cm = await subject('expired');
    const recorder = new EventRecorder({ client, component: 'ipam-test' });
    recorder.warning(cm, 'AllocationFailed', 'try again');
    await recorder.flush();
    const [first] = await eventsAbout('expired');
    await client.delete(eventResource, first?.metadata.name ?? '', ns.name);
    recorder.warning(cm, 'AllocationFailed', 'try again');
    await recorder.flush();
    const after = await eventsAbout('expired');
    expect(after).toHaveLength(1);
    expect(after[0]?.count).toBe(2);
  });

  it('files events about cluster-scoped objects in the default namespace', async () => {
    const name = uniqueName('global-pool');
    const recorder = new EventRecorder({ client, component: 'ipam-test' });
    recorder.normal(
      {
        apiVersion: 'ipam.cluster.x-k8s.io/v1alpha2',
        kind: 'GlobalInClusterIPPool',
        metadata: { name, uid: 'u-1' },
      },
      'Validated',
      'pool is valid',
    );
    await recorder.flush();
    const events = await eventsAbout(name, 'default');
    expect(events.map((e) => e.reason)).toEqual(['Validated']);
    await client.delete(eventResource, events[0]?.metadata.name ?? '', 'default');
  });

  it('never throws or blocks when the API server cannot be reached', async () => {
    const unreachable = clientFor(info, { server: 'https://127.0.0.1:1', requestTimeoutMs: 2000 });
    const recorder = new EventRecorder({ client: unreachable, component: 'ipam-test' });
    expect(() => recorder.warning({ metadata: { name: 'x', namespace: ns.name } }, 'R', 'm')).not.toThrow();
    await recorder.flush();
    await unreachable.close();
  });
});
