import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { KubeClient } from '../../src/kube/client.js';
import { Connection } from '../../src/kube/connection.js';
import {
  isAlreadyExists,
  isConflict,
  isInvalid,
  isNotFound,
  isTransient,
  KubeApiError,
} from '../../src/kube/errors.js';
import type { KubeObject, ResourceDescriptor } from '../../src/kube/resource.js';
import { selfSignedCertificate } from '../../src/observability/self-signed.js';
import { installCustomResourceDefinitions } from '../harness/crds.js';
import { useNamespace } from '../harness/namespace.js';
import { type ConfigMap, clientFor, configMaps, kubeConfigFor, TcpProxy } from './helpers.js';

const group = 'kube.runtime.test';
const gadgets: ResourceDescriptor = {
  group,
  version: 'v1',
  plural: 'gadgets',
  namespaced: true,
  kind: 'Gadget',
};

interface Gadget extends KubeObject {
  spec?: { size?: number };
  status?: { phase?: string };
}

const gadgetCrd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.${group}
spec:
  group: ${group}
  scope: Namespaced
  names: { plural: gadgets, singular: gadget, kind: Gadget, listKind: GadgetList }
  versions:
  - name: v1
    served: true
    storage: true
    subresources: { status: {} }
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: { type: object, properties: { size: { type: integer } } }
          status: { type: object, properties: { phase: { type: string } } }
`;

/** Throws unless `promise` rejects with a KubeApiError; returns it. */
async function rejection(promise: Promise<unknown>): Promise<KubeApiError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof KubeApiError) return err;
    throw err;
  }
  throw new Error('expected the request to fail');
}

describe('KubeClient against the API server', () => {
  const ns = useNamespace('kube-client');
  const info = inject('cluster');
  let client: KubeClient;

  beforeAll(async () => {
    client = clientFor(info);
    const dir = await mkdtemp(join(tmpdir(), 'kube-client-crd-'));
    await writeFile(join(dir, 'gadgets.yaml'), gadgetCrd);
    await installCustomResourceDefinitions(ns.access, [dir]);
  });

  afterAll(async () => {
    await client.close();
  });

  it('creates, gets, updates and deletes an object', async () => {
    const created = await client.create<ConfigMap>(configMaps, {
      metadata: { name: 'basic', namespace: ns.name },
      data: { a: '1' },
    });
    expect(created.metadata.uid).toBeTruthy();
    const got = await client.get<ConfigMap>(configMaps, 'basic', ns.name);
    expect(got.data).toEqual({ a: '1' });
    const updated = await client.update<ConfigMap>(configMaps, { ...got, data: { a: '2' } });
    expect(updated.data).toEqual({ a: '2' });
    await client.delete(configMaps, 'basic', ns.name);
    expect(isNotFound(await rejection(client.get(configMaps, 'basic', ns.name)))).toBe(true);
  });

  it('maps API errors to NotFound, AlreadyExists, Conflict and Invalid', async () => {
    const cm = { metadata: { name: 'errs', namespace: ns.name }, data: {} };
    const first = await client.create<ConfigMap>(configMaps, cm);
    expect(isAlreadyExists(await rejection(client.create(configMaps, cm)))).toBe(true);
    await client.update<ConfigMap>(configMaps, { ...first, data: { x: 'y' } });
    const stale = await rejection(client.update<ConfigMap>(configMaps, { ...first, data: { x: 'z' } }));
    expect(isConflict(stale)).toBe(true);
    expect(stale.code).toBe(409);
    const invalid = await rejection(
      client.create(configMaps, { metadata: { name: 'Not_Valid', namespace: ns.name } }),
    );
    expect(isInvalid(invalid)).toBe(true);
    expect(invalid.status?.details?.causes?.length).toBeGreaterThan(0);
    expect((await rejection(client.get(configMaps, 'missing', ns.name))).reason).toBe('NotFound');
  });

  it('lists every object in pages from one snapshot', async () => {
    await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        client.create(configMaps, {
          metadata: { name: `page-${i}`, namespace: ns.name, labels: { paged: 'yes' } },
        }),
      ),
    );
    const before = client.connectionStats().requests;
    const all = await client.listAll<ConfigMap>(configMaps, {
      namespace: ns.name,
      labelSelector: 'paged=yes',
      limit: 10,
    });
    expect(client.connectionStats().requests - before).toBe(3);
    expect(all.items).toHaveLength(25);
    expect(new Set(all.items.map((i) => i.metadata.name)).size).toBe(25);
    expect(all.items[0]?.kind).toBe('ConfigMap');
    expect(Number(all.resourceVersion)).toBeGreaterThan(0);
  });

  it('patches with a merge patch and with a JSON patch', async () => {
    await client.create(configMaps, { metadata: { name: 'patched', namespace: ns.name }, data: { a: '1' } });
    const merged = await client.patch<ConfigMap>(
      configMaps,
      'patched',
      { data: { b: '2' } },
      { namespace: ns.name },
    );
    expect(merged.data).toEqual({ a: '1', b: '2' });
    const json = await client.patch<ConfigMap>(
      configMaps,
      'patched',
      [
        { op: 'test', path: '/data/a', value: '1' },
        { op: 'remove', path: '/data/a' },
      ],
      { namespace: ns.name, type: 'json' },
    );
    expect(json.data).toEqual({ b: '2' });
    // A failed JSON-patch test is how a write is made conditional on the current value.
    const failed = await rejection(
      client.patch(configMaps, 'patched', [{ op: 'test', path: '/data/b', value: 'nope' }], {
        namespace: ns.name,
        type: 'json',
      }),
    );
    expect(failed.code).toBe(422);
  });

  it('applies server-side, refusing to take another manager’s field unless forced', async () => {
    const obj = { metadata: { name: 'applied', namespace: ns.name }, data: { owner: 'one' } };
    const applied = await client.apply<ConfigMap>(configMaps, obj, { fieldManager: 'manager-one' });
    expect(applied.data).toEqual({ owner: 'one' });
    const clash = await rejection(
      client.apply<ConfigMap>(
        configMaps,
        { ...obj, data: { owner: 'two' } },
        { fieldManager: 'manager-two' },
      ),
    );
    expect(isConflict(clash)).toBe(true);
    const forced = await client.apply<ConfigMap>(
      configMaps,
      { ...obj, data: { owner: 'two' } },
      { fieldManager: 'manager-two', force: true },
    );
    expect(forced.data).toEqual({ owner: 'two' });
  });

  it('writes the status subresource without touching the spec', async () => {
    await client.create<Gadget>(gadgets, { metadata: { name: 'g', namespace: ns.name }, spec: { size: 1 } });
    const patched = await client.patchStatus<Gadget>(
      gadgets,
      'g',
      { status: { phase: 'Ready' }, spec: { size: 9 } },
      { namespace: ns.name },
    );
    expect(patched.status?.phase).toBe('Ready');
    expect(patched.spec?.size).toBe(1);
    const updated = await client.updateStatus<Gadget>(gadgets, { ...patched, status: { phase: 'Done' } });
    expect(updated.status?.phase).toBe('Done');
    const applied = await client.applyStatus<Gadget>(
      gadgets,
      { metadata: { name: 'g', namespace: ns.name }, status: { phase: 'Applied' } },
      { fieldManager: 'status-writer', force: true },
    );
    expect(applied.status?.phase).toBe('Applied');
    expect(applied.spec?.size).toBe(1);
  });

  it('deletes only when the preconditions still hold', async () => {
    const cm = await client.create<ConfigMap>(configMaps, {
      metadata: { name: 'guarded', namespace: ns.name },
    });
    const wrongUid = await rejection(
      client.delete(configMaps, 'guarded', ns.name, {
        preconditions: { uid: '00000000-0000-0000-0000-000000000000' },
      }),
    );
    expect(isConflict(wrongUid)).toBe(true);
    await client.patch(configMaps, 'guarded', { data: { changed: 'yes' } }, { namespace: ns.name });
    const stale = await rejection(
      client.delete(configMaps, 'guarded', ns.name, {
        preconditions: { resourceVersion: cm.metadata.resourceVersion },
      }),
    );
    expect(isConflict(stale)).toBe(true);
    await client.delete(configMaps, 'guarded', ns.name, { preconditions: { uid: cm.metadata.uid } });
    expect(isNotFound(await rejection(client.get(configMaps, 'guarded', ns.name)))).toBe(true);
  });

  it('discovers served group versions and reports unserved ones as absent', async () => {
    const served = await client.discover(group, 'v1');
    expect(served?.resources.map((r) => r.name)).toContain('gadgets');
    expect(await client.discover(group, 'v9')).toBeUndefined();
  });

  it('sends 500 requests over one TLS connection, and at most one per request in flight', async () => {
    const proxy = await TcpProxy.start(info.server);
    const pooled = clientFor(info, { server: proxy.url });
    try {
      for (let i = 0; i < 500; i++) {
        const name = `seq-${i % 50}`;
        if (i < 50) await pooled.create(configMaps, { metadata: { name, namespace: ns.name } });
        else if (i % 2 === 0) await pooled.get(configMaps, name, ns.name);
        else await pooled.patch(configMaps, name, { data: { i: String(i) } }, { namespace: ns.name });
      }
      expect(proxy.connections).toBe(1);
      expect(pooled.connectionStats().opened).toBe(1);

      // 500 more with 16 in flight: the pool grows to the concurrency and no further.
      let next = 0;
      const inFlight = 16;
      await Promise.all(
        Array.from({ length: inFlight }, async () => {
          while (next < 500) {
            const i = next++;
            await pooled.patch(
              configMaps,
              `seq-${i % 50}`,
              { data: { j: String(i) } },
              { namespace: ns.name },
            );
          }
        }),
      );
      expect(proxy.connections).toBeLessThanOrEqual(1 + inFlight);
      process.stderr.write(`pooled client: 1000 requests used ${proxy.connections} TLS connections\n`);
    } finally {
      await pooled.close();
      await proxy.close();
    }
  });

  it('parses its CA and client certificate once for all the connections it opens', async () => {
    // Node's tls.connect makes a secure context from loose ca/cert/key on every connection.
    const tls = createRequire(import.meta.url)('node:tls') as typeof import('node:tls');
    const made = vi.spyOn(tls, 'createSecureContext');
    syncBuiltinESMExports();
    const fresh = clientFor(info);
    try {
      await Promise.all(
        Array.from({ length: 16 }, (_, i) => fresh.get(configMaps, `absent-${i}`, ns.name).catch(() => {})),
      );
      expect(fresh.connectionStats().opened).toBeGreaterThan(1);
      expect(made).toHaveBeenCalledTimes(1);
    } finally {
      made.mockRestore();
      syncBuiltinESMExports();
      await fresh.close();
    }
  });

  it('refuses an API server whose certificate its CA did not sign', async () => {
    const text = readFileSync(info.kubeconfigPath, 'utf8');
    const stranger = Buffer.from(selfSignedCertificate(['127.0.0.1'], 1, new Date()).certPem).toString(
      'base64',
    );
    const kc = new KubeConfig();
    kc.loadFromString(
      text.replace(/certificate-authority-data: .*/, `certificate-authority-data: ${stranger}`),
    );
    const wary = new KubeClient(new Connection(kc));
    try {
      const err = await rejection(wary.get(configMaps, 'absent', ns.name));
      expect(err.message).toMatch(/certificate|self.signed|verify/i);
    } finally {
      await wary.close();
    }
  });

  it('gives up on a request nobody answers after its deadline, as a transient Timeout', async () => {
    const proxy = await TcpProxy.start(info.server);
    // What rest_client_requests_total hears: the code of an answer, '<error>' when none came.
    const observed: string[] = [];
    const silent = clientFor(info, {
      server: proxy.url,
      requestTimeoutMs: 1500,
      observe: (method, code) => observed.push(`${method} ${code}`),
    });
    try {
      await silent.get(configMaps, 'absent', ns.name).catch(() => {});
      expect(observed).toEqual(['GET 404']);
      proxy.freeze({ newConnections: true });
      const started = performance.now();
      const err = await rejection(silent.get(configMaps, 'absent', ns.name));
      const waited = performance.now() - started;
      expect(err.reason).toBe('Timeout');
      expect(isTransient(err)).toBe(true);
      expect(err.message).toContain('no answer in 1500 ms');
      // Not before its deadline (the answer might still have come); and well before any other timer would end it.
      expect(waited).toBeGreaterThanOrEqual(1400);
      expect(waited).toBeLessThan(10_000);
      expect(observed).toEqual(['GET 404', 'GET <error>']);
    } finally {
      await silent.close();
      await proxy.close();
    }
  });

  it('is needed because client-node as shipped opens a connection per request', async () => {
    const proxy = await TcpProxy.start(info.server);
    try {
      const api = kubeConfigFor(info, proxy.url).makeApiClient(CoreV1Api);
      for (let i = 0; i < 20; i++) await api.listNamespacedConfigMap({ namespace: ns.name, limit: 1 });
      process.stderr.write(`client-node as shipped: 20 requests used ${proxy.connections} TLS connections\n`);
      expect(proxy.connections).toBeGreaterThan(1);
    } finally {
      await proxy.close();
    }
  });
});
