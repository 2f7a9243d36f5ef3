/**
 * The controller process with exactly the rights manifests/provider.yaml gives it: its client is a
 * user (a client certificate of the cluster CA) bound only by the generated ClusterRole and
 * leader-election Role, as the manifests bind them to the service account. Any request those do not allow shows up here as a claim
 * left unbound, a status not written, an event or lease missing, or a "forbidden" in its log.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INSTALL_NAMESPACE } from '../../src/api/install.js';
import { providerObjects, rbacObjects } from '../../src/install/manifests.js';
import {
  crdPaths,
  createClaim,
  createNamespace,
  createPool,
  get,
  poolPath,
  waitForAddress,
} from '../controllers/fixture.js';
import { ControlPlane, freePort } from '../harness/control-plane.js';
import { waitFor } from '../harness/wait.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const NS = 'rbac';
const USER = 'ipam-controller';

describe('the controller with only the RBAC of its install manifests', () => {
  let cp: ControlPlane;
  let proc: ChildProcess;
  let exited: Promise<number | null>;
  let output = '';

  beforeAll(async () => {
    cp = await ControlPlane.start({ crds: crdPaths });
    await createNamespace(cp.access, NS);
    // The generated roles, bound to a user: a certificate's CN cannot hold the service account's
    // 85-character user name. The Deployment is left out: nothing here runs pods.
    const objects = [
      ...providerObjects().filter((o) => (o as { kind: string }).kind === 'Namespace'),
      ...rbacObjects([{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: USER }]),
    ];
    const file = join(cp.dir, 'provider.json');
    writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
    const applied = await cp.access.kubectl(['apply', '-f', file]);
    expect(applied.code, applied.stderr).toBe(0);
    const kubeconfig = await cp.kubeconfigFor(USER);
    proc = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(root, 'src/main.ts'),
        `--kubeconfig=${kubeconfig}`,
        `--leader-election-namespace=${INSTALL_NAMESPACE}`,
        `--health-probe-bind-address=127.0.0.1:${await freePort()}`,
        '--diagnostics-address=0',
        '--webhook-port=0',
      ],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'info' } },
    );
    for (const stream of [proc.stdout, proc.stderr]) {
      stream?.on('data', (c: Buffer) => {
        output += c.toString();
      });
    }
    exited = new Promise((resolve) => proc.on('exit', (code) => resolve(code)));
  });
  afterAll(async () => {
    if (proc && proc.exitCode === null) proc.kill('SIGKILL');
    await cp?.stop();
  });

  it('is refused what the roles do not grant (the client really is that user)', async () => {
    const kubeconfig = await cp.kubeconfigFor(USER);
    const res = await cp.access.kubectl(['--kubeconfig', kubeconfig, 'get', 'secrets', '-n', NS]);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('forbidden');
  });

  it('leads, binds claims, writes pool status and events, and is never forbidden', async () => {
    await createPool(cp.access, 'GlobalInClusterIPPool', '', 'shared', {
      addresses: ['10.60.0.0/24'],
      prefix: 24,
    });
    await createPool(cp.access, 'InClusterIPPool', NS, 'local', { addresses: ['10.61.0.0/24'], prefix: 24 });
    await createClaim(cp.access, NS, 'a', { kind: 'GlobalInClusterIPPool', name: 'shared' });
    await createClaim(cp.access, NS, 'b', { kind: 'InClusterIPPool', name: 'local' });
    const prefixPool = `/apis/ipam.cluster.x-k8s.io/v1alpha2/globalinclusterprefixpools/prefixes`;
    const created = await cp.access.request(
      'POST',
      '/apis/ipam.cluster.x-k8s.io/v1alpha2/globalinclusterprefixpools',
      {
        apiVersion: 'ipam.cluster.x-k8s.io/v1alpha2',
        kind: 'GlobalInClusterPrefixPool',
        metadata: { name: 'prefixes' },
        spec: { prefixes: ['fd60::/48'] },
      },
    );
    expect(created.status).toBe(201);
    await createClaim(cp.access, NS, 'c', { kind: 'GlobalInClusterPrefixPool', name: 'prefixes' });
    expect(await waitForAddress(cp.access, NS, 'a', 60_000)).toBe('10.60.0.1');
    expect(await waitForAddress(cp.access, NS, 'b')).toBe('10.61.0.1');
    expect(await waitForAddress(cp.access, NS, 'c')).toBe('fd60::');
    const lease = await cp.access.request<{ spec: { holderIdentity?: string } }>(
      'GET',
      `/apis/coordination.k8s.io/v1/namespaces/${INSTALL_NAMESPACE}/leases/7bb7acb4.ipam.cluster.x-k8s.io`,
    );
    expect(lease.body.spec.holderIdentity).toBeTruthy();
    await waitFor('both pools to show their usage', async () => {
      const g = await get(cp.access, poolPath('GlobalInClusterIPPool', '', 'shared'));
      const l = await get(cp.access, poolPath('InClusterIPPool', NS, 'local'));
      const p = await get(cp.access, prefixPool);
      return (
        g?.status?.ipAddresses?.used === 1 &&
        l?.status?.ipAddresses?.used === 1 &&
        p?.status?.ipAddresses?.used === 1 &&
        p.metadata.finalizers?.includes('ipam.cluster.x-k8s.io/ProtectPool') === true
      );
    });
    await waitFor('events on the claims', async () => {
      const res = await cp.access.request<{ items: { involvedObject: { name: string } }[] }>(
        'GET',
        `/api/v1/namespaces/${NS}/events`,
      );
      const names = new Set(res.body.items.map((e) => e.involvedObject.name));
      return names.has('a') && names.has('b') && names.has('c');
    });
    // Deleting a claim exercises finalizer removal, IPAddress unprotect and delete.
    expect(
      (
        await cp.access.request(
          'DELETE',
          `/apis/ipam.cluster.x-k8s.io/v1beta2/namespaces/${NS}/ipaddressclaims/b`,
        )
      ).status,
    ).toBe(200);
    await waitFor('claim b and its IPAddress to be gone', async () => {
      const claim = await cp.access.request(
        'GET',
        `/apis/ipam.cluster.x-k8s.io/v1beta2/namespaces/${NS}/ipaddressclaims/b`,
      );
      const ip = await cp.access.request(
        'GET',
        `/apis/ipam.cluster.x-k8s.io/v1beta2/namespaces/${NS}/ipaddresses/b`,
      );
      return claim.status === 404 && ip.status === 404;
    });
    expect(output).not.toMatch(/forbidden/i);
  });

  it('releases its lease and exits 0 on SIGTERM', async () => {
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).not.toMatch(/forbidden/i);
  });
});
