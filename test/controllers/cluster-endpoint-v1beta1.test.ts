/**
 * Control-plane endpoints on Cluster API before 1.11, where Cluster is served (and stored) as
 * v1beta1 only — installed after the controller started, as Cluster API may be — and the
 * controller's own release of a gone Cluster's claim, on a control plane without
 * kube-controller-manager: no garbage collector is there to do it instead.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { ControlPlane } from '../harness/control-plane.js';
import { waitFor } from '../harness/wait.js';
import {
  clusterPath,
  createCluster,
  ENDPOINT_POOL,
  endpointActions,
  getCluster,
  type RunningEndpoints,
  startEndpoints,
  UNPAUSE,
} from './cluster-endpoint-fixture.js';
import { addressPath, claimPath, createNamespace, createPool, get } from './fixture.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const CAPI = join(root, 'test/crds/capi');
const ns = 'v1beta1-endpoints';

/** The test copy of the Cluster CRD as Cluster API 1.6–1.10 serve it: v1beta1 alone, stored. */
function clusterCrdV1beta1Only(): string {
  const docs = parseAllDocuments(readFileSync(join(CAPI, 'cluster.x-k8s.io_clusters.yaml'), 'utf8'));
  const crd = docs.map((d) => d.toJSON()).find((d) => d?.kind === 'CustomResourceDefinition');
  crd.spec.versions = crd.spec.versions
    .filter((v: { name: string }) => v.name === 'v1beta1')
    .map(({ deprecated: _, ...v }: { deprecated?: boolean }) => ({ ...v, served: true, storage: true }));
  const file = join(mkdtempSync(join(tmpdir(), 'capi-v1beta1-')), 'cluster.x-k8s.io_clusters.yaml');
  writeFileSync(file, stringify(crd));
  return file;
}

describe('control-plane endpoints with Cluster v1beta1, and no garbage collector', () => {
  let cp: ControlPlane;
  let ctl: RunningEndpoints | undefined;

  beforeAll(async () => {
    cp = await ControlPlane.start({
      crds: [
        join(root, 'crds'),
        join(CAPI, 'ipam.cluster.x-k8s.io_ipaddressclaims.yaml'),
        join(CAPI, 'ipam.cluster.x-k8s.io_ipaddresses.yaml'),
      ],
    });
    await createNamespace(cp.access, ns);
    await createPool(cp.access, 'InClusterIPPool', ns, 'vips', {
      addresses: ['10.82.0.1-10.82.0.2'],
      prefix: 24,
    });
  });
  afterEach(async () => {
    await ctl?.stop();
    ctl = undefined;
  });
  afterAll(async () => {
    await cp?.stop();
  });

  it('writes endpoint, variable and spec.paused of a v1beta1 Cluster, its kind installed after the start', async () => {
    ctl = await startEndpoints(cp, { clusterDiscoveryIntervalMs: 300 });
    await cp.installCRDs([clusterCrdV1beta1Only()]);
    expect((await cp.access.request('GET', '/apis/cluster.x-k8s.io/v1beta2')).status).toBe(404);
    await createCluster(
      cp.access,
      ns,
      'old',
      {
        annotations: {
          [ENDPOINT_POOL]: 'InClusterIPPool/vips',
          [UNPAUSE]: 'true',
          'ipam.cluster.x-k8s.io/control-plane-endpoint-variable': 'controlPlaneIpAddr',
        },
        spec: { paused: true, topology: { class: 'vsphere', version: 'v1.30.0', variables: [] } },
      },
      'v1beta1',
    );
    const cluster = await waitFor('written and unpaused', async () => {
      const c = await getCluster(cp.access, ns, 'old', 'v1beta1');
      return c?.spec.paused === false ? c : undefined;
    });
    expect(cluster.spec.controlPlaneEndpoint).toEqual({ host: '10.82.0.1', port: 6443 });
    expect(cluster.spec.topology?.variables).toEqual([{ name: 'controlPlaneIpAddr', value: '10.82.0.1' }]);
    const claim = await get(cp.access, claimPath(ns, 'old.control-plane-endpoint'));
    expect(claim?.metadata.ownerReferences).toEqual([
      expect.objectContaining({ apiVersion: 'cluster.x-k8s.io/v1beta1', kind: 'Cluster', name: 'old' }),
    ]);
  });

  it('deletes the claim of a deleted Cluster itself, which releases the address', async () => {
    ctl = await startEndpoints(cp);
    expect((await cp.access.request('DELETE', clusterPath(ns, 'old', 'v1beta1'))).status).toBe(200);
    await waitFor('the claim and its IPAddress gone', async () => {
      const claim = await get(cp.access, claimPath(ns, 'old.control-plane-endpoint'));
      const address = await get(cp.access, addressPath(ns, 'old.control-plane-endpoint'));
      return claim === undefined && address === undefined;
    });
    expect(await endpointActions(ctl, 'released')).toBe(1);
  });

  it('releases the claim of a Cluster deleted while no controller ran, once one leads again', async () => {
    ctl = await startEndpoints(cp);
    await createCluster(
      cp.access,
      ns,
      'gone',
      { annotations: { [ENDPOINT_POOL]: 'InClusterIPPool/vips' }, spec: { paused: false } },
      'v1beta1',
    );
    await waitFor(
      'the endpoint',
      async () => (await getCluster(cp.access, ns, 'gone', 'v1beta1'))?.spec.controlPlaneEndpoint,
    );
    await ctl.stop();
    ctl = undefined;
    expect((await cp.access.request('DELETE', clusterPath(ns, 'gone', 'v1beta1'))).status).toBe(200);
    ctl = await startEndpoints(cp);
    await waitFor('the claim and its IPAddress gone', async () => {
      const claim = await get(cp.access, claimPath(ns, 'gone.control-plane-endpoint'));
      const address = await get(cp.access, addressPath(ns, 'gone.control-plane-endpoint'));
      return claim === undefined && address === undefined;
    });
  });
});
