import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { KubeClient } from '../../src/kube/client.js';
import { isNotFound, KubeApiError } from '../../src/kube/errors.js';
import { useNamespace } from '../harness/namespace.js';
import { type ConfigMap, configMaps } from './helpers.js';

describe('loading the kubeconfig as client-node does', () => {
  const ns = useNamespace('kube-config');
  const info = inject('cluster');
  const saved = { ...process.env };

  afterEach(() => {
    for (const key of ['KUBECONFIG', 'KUBERNETES_SERVICE_HOST', 'KUBERNETES_SERVICE_PORT']) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
  });

  it('reads the file named by KUBECONFIG', async () => {
    process.env.KUBECONFIG = info.kubeconfigPath;
    const client = KubeClient.fromDefault();
    try {
      expect(client.connection.server.origin).toBe(info.server);
      const found = await client.get(configMaps, 'no-such-configmap', ns.name).catch((err: unknown) => err);
      // NotFound (not Unauthorized or Forbidden) proves we reached the server as the admin user.
      expect(isNotFound(found)).toBe(true);
    } finally {
      await client.close();
    }
  });

  it('authenticates with a service-account token as a pod does (in-cluster config)', async () => {
    const sa = 'reader';
    const base = `/api/v1/namespaces/${ns.name}`;
    const rbac = `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns.name}`;
    await ns.access.request('POST', `${base}/serviceaccounts`, { metadata: { name: sa } });
    await ns.access.request('POST', `${rbac}/roles`, {
      metadata: { name: sa },
      rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'create'] }],
    });
    await ns.access.request('POST', `${rbac}/rolebindings`, {
      metadata: { name: sa },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: sa },
      subjects: [{ kind: 'ServiceAccount', name: sa, namespace: ns.name }],
    });
    const token = await ns.access.request<{ status: { token: string } }>(
      'POST',
      `${base}/serviceaccounts/${sa}/token`,
      { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 600 } },
    );
    expect(token.status).toBe(201);

    // The files the kubelet mounts into every pod, under a prefix of our own.
    const root = await mkdtemp(join(tmpdir(), 'in-cluster-'));
    const mount = join(root, 'var/run/secrets/kubernetes.io/serviceaccount');
    await mkdir(mount, { recursive: true });
    await writeFile(join(mount, 'token'), token.body.status.token);
    await writeFile(join(mount, 'ca.crt'), info.caPem);
    await writeFile(join(mount, 'namespace'), ns.name);
    const server = new URL(info.server);
    process.env.KUBERNETES_SERVICE_HOST = server.hostname;
    process.env.KUBERNETES_SERVICE_PORT = server.port;
    const kc = new KubeConfig();
    kc.loadFromCluster(root);
    const client = KubeClient.fromKubeConfig(kc);
    try {
      await client.create<ConfigMap>(configMaps, { metadata: { name: 'from-a-pod', namespace: ns.name } });
      const listed = await client.listAll<ConfigMap>(configMaps, { namespace: ns.name });
      expect(listed.items.map((i) => i.metadata.name)).toContain('from-a-pod');
      const denied = await client.listAll(configMaps, { namespace: 'default' }).catch((err: unknown) => err);
      expect(denied).toBeInstanceOf(KubeApiError);
      expect((denied as KubeApiError).reason).toBe('Forbidden');
    } finally {
      await client.close();
    }
  });
});
