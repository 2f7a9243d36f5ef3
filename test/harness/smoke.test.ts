import { request as httpsRequest } from 'node:https';
import { describe, expect, it } from 'vitest';
import type { ClusterAccess } from './access.js';
import { installCustomResourceDefinitions } from './crds.js';
import { uniqueName, useNamespace } from './namespace.js';
import { waitFor } from './wait.js';

// A CRD of the smoke test's own, so the harness is proven independent of the provider's CRDs.
const group = 'smoke.harness.test';
const crdYaml = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.${group}
spec:
  group: ${group}
  scope: Namespaced
  names: { plural: widgets, singular: widget, kind: Widget, listKind: WidgetList }
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

interface Widget {
  metadata: { name: string; resourceVersion?: string; uid?: string; ownerReferences?: unknown[] };
  spec?: { size?: number };
  status?: { phase?: string };
}

interface WatchEvent {
  type: string;
  object: Widget;
}

/** Opens a raw watch stream and collects events until closed. */
function watch(access: ClusterAccess, path: string): { events: WatchEvent[]; close: () => void } {
  const events: WatchEvent[] = [];
  const url = new URL(path, access.info.server);
  const req = httpsRequest(url, {
    ca: access.info.caPem,
    cert: access.info.clientCertPem,
    key: access.info.clientKeyPem,
  });
  req.on('response', (res) => {
    let buf = '';
    res.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.trim()) events.push(JSON.parse(line) as WatchEvent);
      }
    });
    res.on('error', () => {});
  });
  req.on('error', () => {});
  req.end();
  return { events, close: () => req.destroy() };
}

describe('the harness control plane', () => {
  const ns = useNamespace('smoke');
  const base = () => `/apis/${group}/v1/namespaces/${ns.name}/widgets`;

  it('installs a CRD and waits until it is established and discoverable', async () => {
    const { writeFile, mkdtemp } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(join(tmpdir(), 'smoke-crd-'));
    await writeFile(join(dir, 'widgets.yaml'), crdYaml);
    const names = await installCustomResourceDefinitions(ns.access, [dir]);
    expect(names).toEqual([`widgets.${group}`]);
    const disc = await ns.access.request<{ resources: { name: string }[] }>('GET', `/apis/${group}/v1`);
    expect(disc.body.resources.map((r) => r.name)).toContain('widgets');
  });

  it('creates, lists and watches custom objects', async () => {
    const list0 = await ns.access.request<{ metadata: { resourceVersion: string } }>('GET', base());
    expect(list0.status).toBe(200);
    const w = watch(ns.access, `${base()}?watch=1&resourceVersion=${list0.body.metadata.resourceVersion}`);
    try {
      for (const name of ['a', 'b', 'c']) {
        const res = await ns.access.request('POST', base(), {
          apiVersion: `${group}/v1`,
          kind: 'Widget',
          metadata: { name },
          spec: { size: 1 },
        });
        expect(res.status).toBe(201);
      }
      const list = await ns.access.request<{ items: Widget[] }>('GET', base());
      expect(list.body.items.map((i) => i.metadata.name).sort()).toEqual(['a', 'b', 'c']);
      await waitFor('three ADDED events', () => w.events.length >= 3);
      expect(w.events.map((e) => `${e.type}/${e.object.metadata.name}`)).toEqual([
        'ADDED/a',
        'ADDED/b',
        'ADDED/c',
      ]);
    } finally {
      w.close();
    }
  });

  it('patches the status subresource without touching the spec', async () => {
    const res = await ns.access.request<Widget>(
      'PATCH',
      `${base()}/a/status`,
      { status: { phase: 'Ready' }, spec: { size: 99 } },
      { contentType: 'application/merge-patch+json' },
    );
    expect(res.status).toBe(200);
    expect(res.body.status?.phase).toBe('Ready');
    // The status endpoint ignores spec changes: that is what makes it a subresource.
    expect(res.body.spec?.size).toBe(1);
  });

  it('answers 409 Conflict to an update with a stale resourceVersion', async () => {
    const got = await ns.access.request<Widget>('GET', `${base()}/b`);
    const stale = got.body;
    const first = await ns.access.request('PUT', `${base()}/b`, { ...stale, spec: { size: 2 } });
    expect(first.status).toBe(200);
    const second = await ns.access.request<{ reason: string }>('PUT', `${base()}/b`, {
      ...stale,
      spec: { size: 3 },
    });
    expect(second.status).toBe(409);
    expect(second.body.reason).toBe('Conflict');
  });

  it('garbage-collects a dependent when its owner is deleted (kube-controller-manager runs)', async () => {
    // Built-in kinds: the garbage collector only learns CRDs created after it started on its next
    // 30 s discovery pass (the harness installs the provider's CRDs before starting it).
    const cms = `/api/v1/namespaces/${ns.name}/configmaps`;
    const owner = await ns.access.request<Widget>('POST', cms, { metadata: { name: 'owner' } });
    expect(owner.status).toBe(201);
    const dependent = uniqueName('dep');
    const created = await ns.access.request('POST', cms, {
      metadata: {
        name: dependent,
        ownerReferences: [
          { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.body.metadata.uid },
        ],
      },
    });
    expect(created.status).toBe(201);
    expect((await ns.access.request('DELETE', `${cms}/owner`)).status).toBe(200);
    await waitFor('the dependent to be garbage-collected', async () => {
      const res = await ns.access.request('GET', `${cms}/${dependent}`);
      return res.status === 404;
    });
  });

  it('serves kubectl with the written kubeconfig', async () => {
    const res = await ns.access.kubectl(['get', `widgets.${group}`, '-n', ns.name, '-o', 'name']);
    expect(res.code).toBe(0);
    expect(res.stdout.trim().split('\n').sort()).toEqual([
      `widget.${group}/a`,
      `widget.${group}/b`,
      `widget.${group}/c`,
    ]);
  });
});
