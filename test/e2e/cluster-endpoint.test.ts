import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  clusterPath,
  createCluster,
  ENDPOINT_POOL,
  endpointClaims,
  getCluster,
  UNPAUSE,
} from '../controllers/cluster-endpoint-fixture.js';
import {
  addressPath,
  claimPath,
  crdPaths,
  createClaim,
  createNamespace,
  createPool,
  get,
  waitForAddress,
} from '../controllers/fixture.js';
import { ControlPlane } from '../harness/control-plane.js';
import { waitFor } from '../harness/wait.js';
import type { ControllerProcess } from './controller-process.js';
import { kubeconfigWithGeneratedRbac, startAsControllerUser } from './generated-rbac.js';

const NS = 'endpoint-e2e';

describe('the controller process with the generated RBAC gives Clusters their endpoints', () => {
  let cp: ControlPlane;
  let kubeconfig: string;
  let ctl: ControllerProcess | undefined;
  const output = () => (ctl ? ctl.stdout() + ctl.stderr() : '');
  const start = (...flags: string[]) => startAsControllerUser(kubeconfig, ...flags);

  beforeAll(async () => {
    cp = await ControlPlane.start({ crds: crdPaths });
    await createNamespace(cp.access, NS);
    kubeconfig = await kubeconfigWithGeneratedRbac(cp);
    await createPool(cp.access, 'InClusterIPPool', NS, 'vips', {
      addresses: ['10.83.0.1-10.83.0.9'],
      prefix: 24,
    });
  });
  afterEach(() => {
    ctl?.kill();
    ctl = undefined;
  });
  afterAll(async () => {
    await cp?.stop();
  });

  it('claims, writes, unpauses and releases, and is never forbidden', async () => {
    ctl = start();
    await createCluster(cp.access, NS, 'wl', {
      annotations: { [ENDPOINT_POOL]: 'InClusterIPPool/vips', [UNPAUSE]: 'true' },
      spec: { paused: true },
    });
    const cluster = await waitFor(
      'the endpoint written and the Cluster unpaused',
      async () => {
        const c = await getCluster(cp.access, NS, 'wl');
        return c?.spec.paused === false ? c : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(cluster.spec.controlPlaneEndpoint).toEqual({ host: '10.83.0.1', port: 6443 });
    await waitFor('the Events on the Cluster', async () => {
      const res = await cp.access.request<{ items: { reason: string }[] }>(
        'GET',
        `/api/v1/namespaces/${NS}/events?fieldSelector=involvedObject.name=wl`,
      );
      const reasons = new Set(res.body.items.map((e) => e.reason));
      return ['EndpointAddressClaimed', 'ControlPlaneEndpointSet', 'Unpaused'].every((r) => reasons.has(r));
    });
    // No garbage collector runs here: only the controller's own delete releases the address.
    expect((await cp.access.request('DELETE', clusterPath(NS, 'wl'))).status).toBe(200);
    await waitFor('the claim and its IPAddress gone', async () => {
      const claim = await get(cp.access, claimPath(NS, 'wl.control-plane-endpoint'));
      const address = await get(cp.access, addressPath(NS, 'wl.control-plane-endpoint'));
      return claim === undefined && address === undefined;
    });
    expect(output()).toMatch(/"Cluster":\{"name":"wl","namespace":"endpoint-e2e"\}/);
    expect(output()).not.toMatch(/forbidden/i);
  });

  it('with --cluster-endpoints=false claims nothing and writes no Cluster', async () => {
    ctl = start('--cluster-endpoints=false');
    await createCluster(cp.access, NS, 'off', {
      annotations: { [ENDPOINT_POOL]: 'InClusterIPPool/vips', [UNPAUSE]: 'true' },
      spec: { paused: true },
    });
    const before = await getCluster(cp.access, NS, 'off');
    await createClaim(cp.access, NS, 'plain', { kind: 'InClusterIPPool', name: 'vips' });
    await waitForAddress(cp.access, NS, 'plain', 60_000);
    expect(await endpointClaims(cp.access, NS, 'off')).toEqual([]);
    expect((await getCluster(cp.access, NS, 'off'))?.metadata.resourceVersion).toBe(
      before?.metadata.resourceVersion,
    );
  });
});
