import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { ControlPlane } from '../harness/control-plane.js';
import { waitFor } from '../harness/wait.js';
import {
  crdPaths,
  createNamespace,
  createPool,
  eventCount,
  IPAM,
  type RunningController,
  startController,
  touchClaim,
} from './fixture.js';

interface CrdVersion {
  name: string;
  served: boolean;
  storage: boolean;
  schema?: {
    openAPIV3Schema?: { properties?: { status?: { properties?: Record<string, unknown> } } };
  };
}

/**
 * Cluster API 1.6–1.10 serve IPAddressClaim and IPAddress as v1beta1 only. Make such CRDs from our
 * test copies: drop v1beta2, store v1beta1. Of our own CRDs only the IP pools', as a release from
 * before the prefix pools installed them.
 */
function v1beta1OnlyCrds(dir: string, { v1beta2Status = true } = {}): string[] {
  const capi = crdPaths.find((p) => p.endsWith('capi')) ?? '';
  const ours = crdPaths.find((p) => !p.endsWith('capi')) ?? '';
  const out: string[] = [
    join(ours, 'ipam.cluster.x-k8s.io_inclusterippools.yaml'),
    join(ours, 'ipam.cluster.x-k8s.io_globalinclusterippools.yaml'),
  ];
  for (const file of [
    'ipam.cluster.x-k8s.io_ipaddressclaims.yaml',
    'ipam.cluster.x-k8s.io_ipaddresses.yaml',
  ]) {
    const doc = parseAllDocuments(readFileSync(join(capi, file), 'utf8'))[0]?.toJS() as {
      spec: { versions: CrdVersion[] };
    };
    doc.spec.versions = doc.spec.versions
      .filter((v) => v.name !== 'v1beta2')
      .map((v) => ({ ...v, storage: v.name === 'v1beta1' }));
    // Cluster API before 1.9: no status.v1beta2 on v1beta1 objects.
    if (!v1beta2Status)
      for (const v of doc.spec.versions)
        delete v.schema?.openAPIV3Schema?.properties?.status?.properties?.v1beta2;
    const target = join(dir, file);
    writeFileSync(target, stringify(doc));
    out.push(target);
  }
  out.push(join(capi, 'cluster.x-k8s.io_clusters.yaml'));
  return out;
}

/**
 * A control plane with such CRDs and the controller, for one describe block: its hooks are
 * registered here; the returned function hands out both once they run.
 */
function oldCluster(ns: string, dirPrefix: string, crds: { v1beta2Status?: boolean } = {}) {
  let cp: ControlPlane | undefined;
  let ctl: RunningController | undefined;
  let dir = '';
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), dirPrefix));
    cp = await ControlPlane.start({ crds: v1beta1OnlyCrds(dir, crds) });
    await createNamespace(cp.access, ns);
    ctl = await startController(cp);
  });
  afterAll(async () => {
    await ctl?.stop();
    await cp?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    if (!cp || !ctl) throw new Error('the control plane did not start');
    return { cp, ctl };
  };
}

async function createV1beta1Claim(
  cp: ControlPlane,
  ns: string,
  name: string,
  poolRef: { kind: string; name: string },
): Promise<void> {
  const created = await cp.access.request('POST', `${IPAM}/v1beta1/namespaces/${ns}/ipaddressclaims`, {
    apiVersion: 'ipam.cluster.x-k8s.io/v1beta1',
    kind: 'IPAddressClaim',
    metadata: { name },
    spec: { poolRef: { apiGroup: 'ipam.cluster.x-k8s.io', ...poolRef } },
  });
  expect(created.status, created.text).toBe(201);
}

describe('a cluster with Cluster API 1.6–1.10 (IPAM v1beta1 only) and no prefix-pool CRDs', () => {
  const ns = 'old-capi';
  const cluster = oldCluster(ns, 'v1beta1-crds-');
  let cp: ControlPlane;
  beforeAll(() => {
    ({ cp } = cluster());
  });

  it('serves v1beta1 claims and puts its conditions where v1beta1 keeps v1beta2 conditions', async () => {
    await createPool(cp.access, 'InClusterIPPool', ns, 'old', {
      addresses: ['10.30.0.0/24'],
      prefix: 24,
      gateway: '10.30.0.1',
    });
    await createV1beta1Claim(cp, ns, 'legacy', { kind: 'InClusterIPPool', name: 'old' });
    type Claim = {
      status?: {
        addressRef?: { name: string };
        conditions?: { type: string; status: string; reason?: string; severity?: string }[];
        v1beta2?: { conditions?: { type: string; status: string }[] };
      };
    };
    const claim = await waitFor('the v1beta1 claim to be bound', async () => {
      const res = await cp.access.request<Claim>(
        'GET',
        `${IPAM}/v1beta1/namespaces/${ns}/ipaddressclaims/legacy`,
      );
      return res.body.status?.addressRef?.name ? res.body : undefined;
    });
    expect(claim.status?.v1beta2?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    // And as Cluster API 1.9 and 1.10 write them too: Ready as a v1beta1 condition.
    expect(claim.status?.conditions).toEqual([
      { type: 'Ready', status: 'True', lastTransitionTime: expect.any(String) },
    ]);
    const ip = await cp.access.request<{ apiVersion: string; spec: { address: string; gateway: string } }>(
      'GET',
      `${IPAM}/v1beta1/namespaces/${ns}/ipaddresses/legacy`,
    );
    expect(ip.body.apiVersion).toBe('ipam.cluster.x-k8s.io/v1beta1');
    expect(ip.body.spec).toMatchObject({ address: '10.30.0.2', gateway: '10.30.0.1' });
  });

  it('syncs without the prefix-pool kinds, and a claim of one waits for its pool', async () => {
    // startController returned, so the caches synced with two pool kinds of four.
    await createV1beta1Claim(cp, ns, 'prefix', { kind: 'InClusterPrefixPool', name: 'none' });
    await waitFor('the claim to wait as PoolNotFound', async () => {
      const res = await cp.access.request<{
        status?: { v1beta2?: { conditions?: { type: string; reason: string }[] } };
      }>('GET', `${IPAM}/v1beta1/namespaces/${ns}/ipaddressclaims/prefix`);
      return res.body.status?.v1beta2?.conditions?.find((c) => c.type === 'Ready')?.reason === 'PoolNotFound';
    });
  });
});

type V1Claim = {
  status?: {
    addressRef?: { name: string };
    conditions?: { type: string; status: string; severity?: string; reason?: string; message?: string }[];
    v1beta2?: unknown;
  };
};

describe('a cluster with Cluster API 1.6–1.8 (v1beta1 claims without status.v1beta2)', () => {
  const ns = 'older-capi';
  const cluster = oldCluster(ns, 'v1beta1-pruned-crds-', { v1beta2Status: false });
  let cp: ControlPlane;
  let ctl: RunningController;
  beforeAll(() => {
    ({ cp, ctl } = cluster());
  });

  /** Status patches of claims the API server has served, from its own metrics. */
  async function claimStatusPatches(): Promise<number> {
    const res = await cp.access.request<string>('GET', '/metrics');
    let n = 0;
    for (const line of res.text.split('\n')) {
      if (!line.startsWith('apiserver_request_total{')) continue;
      if (
        line.includes('resource="ipaddressclaims"') &&
        line.includes('subresource="status"') &&
        line.includes('verb="PATCH"')
      )
        n += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return n;
  }

  it('binds claims and stops writing the conditions the schema prunes', async () => {
    await createPool(cp.access, 'InClusterIPPool', ns, 'older', { addresses: ['10.31.0.0/24'], prefix: 24 });
    const path = `${IPAM}/v1beta1/namespaces/${ns}/ipaddressclaims/legacy`;
    await createV1beta1Claim(cp, ns, 'legacy', { kind: 'InClusterIPPool', name: 'older' });
    const claim = await waitFor('the claim to be bound', async () => {
      const res = await cp.access.request<V1Claim>('GET', path);
      return res.body.status?.addressRef?.name ? res.body : undefined;
    });
    expect(claim.status?.v1beta2).toBeUndefined();
    expect(claim.status?.conditions).toEqual([
      { type: 'Ready', status: 'True', lastTransitionTime: expect.any(String) },
    ]);
    const patchesBefore = await claimStatusPatches();
    await touchClaim(cp.access, ctl, path);
    expect(await claimStatusPatches()).toBe(patchesBefore);
  });

  it('says why a claim waits in its v1beta1 Ready condition, and warns of exhaustion once', async () => {
    const path = (name: string) => `${IPAM}/v1beta1/namespaces/${ns}/ipaddressclaims/${name}`;
    const readyOf = async (name: string) =>
      (await cp.access.request<V1Claim>('GET', path(name))).body.status?.conditions?.find(
        (c) => c.type === 'Ready',
      );
    await createV1beta1Claim(cp, ns, 'early', { kind: 'InClusterIPPool', name: 'later' });
    const waiting = await waitFor('Ready=False on the claim', async () => {
      const ready = await readyOf('early');
      return ready?.status === 'False' ? ready : undefined;
    });
    expect(waiting).toMatchObject({ severity: 'Warning', reason: 'PoolNotFound' });
    expect(waiting.message).toContain('later');

    // One address: the first claim takes it, the second waits for it.
    await createPool(cp.access, 'InClusterIPPool', ns, 'later', { addresses: ['10.31.1.5'], prefix: 24 });
    await waitFor('the claim bound once its pool exists', async () =>
      (await readyOf('early'))?.status === 'True' ? true : undefined,
    );
    await createV1beta1Claim(cp, ns, 'second', { kind: 'InClusterIPPool', name: 'later' });
    const exhausted = await waitFor('the second claim to wait for an address', async () => {
      const ready = await readyOf('second');
      return ready?.reason === 'PoolExhausted' ? ready : undefined;
    });
    expect(exhausted).toMatchObject({ status: 'False', severity: 'Warning' });
    // Without status.v1beta2 the claim's earlier state is read from its v1beta1 condition: a
    // reconcile that finds it still waiting writes no second warning.
    await touchClaim(cp.access, ctl, path('second'));
    await ctl.manager.flushEvents();
    expect(await eventCount(cp.access, ns, 'second', 'PoolExhausted')).toBe(1);
  });
});
