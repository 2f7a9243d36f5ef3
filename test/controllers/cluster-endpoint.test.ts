/**
 * Clusters' control-plane endpoints from pools, against the real API server with Cluster API's
 * Cluster CRD (v1beta2 served and stored) and kube-controller-manager's garbage collector: the
 * controller makes one claim per annotated Cluster, writes the bound address where Cluster API
 * needs it, and leaves alone what someone else set.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KubeApiError } from '../../src/kube/index.js';
import type { ControlPlane } from '../harness/control-plane.js';
import { waitFor } from '../harness/wait.js';
import {
  createCluster,
  ENDPOINT_POOL,
  endpointActions,
  endpointClaims,
  endpointsIdle,
  getCluster,
  type RunningEndpoints,
  startEndpoints,
  UNPAUSE,
} from './cluster-endpoint-fixture.js';
import {
  addressPath,
  claimPath,
  createClaim,
  createNamespace,
  createPool,
  eventCount,
  get,
  listAddresses,
  readyOf,
  startControlPlane,
  waitForReason,
} from './fixture.js';

const ns = 'endpoints';
const VARIABLE = 'ipam.cluster.x-k8s.io/control-plane-endpoint-variable';
const PORT = 'ipam.cluster.x-k8s.io/control-plane-endpoint-port';
const REQUESTED = 'ipam.cluster.x-k8s.io/requested-address';

describe('control-plane endpoints of Clusters', () => {
  let cp: ControlPlane;
  let ctl: RunningEndpoints | undefined;

  beforeAll(async () => {
    cp = await startControlPlane();
    await createNamespace(cp.access, ns);
    await createPool(cp.access, 'InClusterIPPool', ns, 'vips', {
      addresses: ['10.80.0.10-10.80.0.19'],
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

  const endpointOf = async (name: string) =>
    (await getCluster(cp.access, ns, name))?.spec.controlPlaneEndpoint;
  const events = (name: string, reason: string) => eventCount(cp.access, ns, name, reason);

  it('gives a paused, annotated Cluster its endpoint while it is paused, then unpauses it', async () => {
    ctl = await startEndpoints(cp);
    await createCluster(cp.access, ns, 'capv', {
      annotations: { [ENDPOINT_POOL]: 'InClusterIPPool/vips', [UNPAUSE]: 'true' },
      spec: { paused: true },
    });
    const cluster = await waitFor('the endpoint written and the Cluster unpaused', async () => {
      const c = await getCluster(cp.access, ns, 'capv');
      return c?.spec.paused === false ? c : undefined;
    });
    expect(cluster.spec.controlPlaneEndpoint).toEqual({ host: '10.80.0.10', port: 6443 });
    const claims = await endpointClaims(cp.access, ns, 'capv');
    expect(claims.map((c) => c.metadata.name)).toEqual(['capv.control-plane-endpoint']);
    const claim = claims[0];
    // Not tied to the Cluster's pause: neither spec.clusterName nor the cluster-name label.
    expect(claim?.spec?.clusterName).toBeUndefined();
    expect(claim?.metadata.labels).not.toHaveProperty('cluster.x-k8s.io/cluster-name');
    expect(claim?.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'Cluster', name: 'capv', uid: cluster.metadata.uid, controller: true }),
    ]);
    expect(readyOf(claim)?.status).toBe('True');
    await waitFor('the claim says the endpoint is set', async () => {
      const c = await get(cp.access, claimPath(ns, 'capv.control-plane-endpoint'));
      return c?.status?.conditions?.find((x) => x.type === 'ControlPlaneEndpointSet')?.status === 'True';
    });
    await waitFor('Events on the Cluster', async () => {
      const [claimed, written, unpaused] = await Promise.all([
        events('capv', 'EndpointAddressClaimed'),
        events('capv', 'ControlPlaneEndpointSet'),
        events('capv', 'Unpaused'),
      ]);
      return claimed === 1 && written === 1 && unpaused === 1;
    });
    expect(await endpointActions(ctl, 'claimed')).toBe(1);
    expect(await endpointActions(ctl, 'unpaused')).toBe(1);
  });

  it('lifts spec.paused but leaves the paused annotation to whoever set it', async () => {
    ctl = await startEndpoints(cp);
    await createCluster(cp.access, ns, 'held', {
      annotations: {
        [ENDPOINT_POOL]: 'InClusterIPPool/vips',
        [UNPAUSE]: 'true',
        'cluster.x-k8s.io/paused': '',
      },
      spec: { paused: true },
    });
    const cluster = await waitFor('spec.paused lifted', async () => {
      const c = await getCluster(cp.access, ns, 'held');
      return c?.spec.paused === false ? c : undefined;
    });
    expect(cluster.spec.controlPlaneEndpoint?.host).toMatch(/^10\.80\.0\./);
    expect(cluster.metadata.annotations).toHaveProperty('cluster.x-k8s.io/paused');
  });

  it('sets the ClusterClass variable beside the others, with the pinned address and port', async () => {
    ctl = await startEndpoints(cp);
    await createCluster(cp.access, ns, 'topo', {
      annotations: {
        [ENDPOINT_POOL]: 'InClusterIPPool/vips',
        [VARIABLE]: 'controlPlaneIpAddr',
        [PORT]: '8443',
        [REQUESTED]: '10.80.0.19',
      },
      spec: {
        topology: {
          classRef: { name: 'vsphere-kube-vip' },
          version: 'v1.31.0',
          variables: [{ name: 'sshKey', value: 'ssh-ed25519 AAAA' }],
        },
      },
    });
    const cluster = await waitFor('the endpoint and the variable', async () => {
      const c = await getCluster(cp.access, ns, 'topo');
      return c?.spec.controlPlaneEndpoint ? c : undefined;
    });
    expect(cluster.spec.controlPlaneEndpoint).toEqual({ host: '10.80.0.19', port: 8443 });
    expect(cluster.spec.topology?.variables).toEqual([
      { name: 'sshKey', value: 'ssh-ed25519 AAAA' },
      { name: 'controlPlaneIpAddr', value: '10.80.0.19' },
    ]);
    expect(cluster.spec.topology?.classRef).toEqual({ name: 'vsphere-kube-vip' });
  });

  it('never overwrites a variable that holds another value, and then writes nothing', async () => {
    ctl = await startEndpoints(cp);
    await createCluster(cp.access, ns, 'topo-set', {
      annotations: {
        [ENDPOINT_POOL]: 'InClusterIPPool/vips',
        [VARIABLE]: 'controlPlaneIpAddr',
        [UNPAUSE]: 'true',
      },
      spec: { paused: true, topology: { variables: [{ name: 'controlPlaneIpAddr', value: '192.0.2.7' }] } },
    });
    await waitFor(
      'the refusal Event',
      async () => (await events('topo-set', 'EndpointVariableConflict')) === 1,
    );
    const cluster = await getCluster(cp.access, ns, 'topo-set');
    expect(cluster?.spec.controlPlaneEndpoint).toBeUndefined();
    expect(cluster?.spec.paused).toBe(true);
    expect(cluster?.spec.topology?.variables).toEqual([{ name: 'controlPlaneIpAddr', value: '192.0.2.7' }]);
  });

  it('leaves an endpoint set to another address alone, with a warning Event and the claim condition', async () => {
    ctl = await startEndpoints(cp);
    await createCluster(cp.access, ns, 'preset', {
      annotations: { [ENDPOINT_POOL]: 'InClusterIPPool/vips', [UNPAUSE]: 'true' },
      spec: { paused: true, controlPlaneEndpoint: { host: '192.0.2.10', port: 6443 } },
    });
    const before = await getCluster(cp.access, ns, 'preset');
    await waitFor(
      'the refusal Event',
      async () => (await events('preset', 'ControlPlaneEndpointConflict')) === 1,
    );
    const claim = await waitFor('the claim condition', async () => {
      const c = await get(cp.access, claimPath(ns, 'preset.control-plane-endpoint'));
      const cond = c?.status?.conditions?.find((x) => x.type === 'ControlPlaneEndpointSet');
      return cond?.status === 'False' ? cond : undefined;
    });
    expect(claim.reason).toBe('ControlPlaneEndpointConflict');
    expect(claim.message).toContain('192.0.2.10');
    const after = await getCluster(cp.access, ns, 'preset');
    expect(after?.metadata.resourceVersion).toBe(before?.metadata.resourceVersion);
    expect(after?.spec).toEqual({ paused: true, controlPlaneEndpoint: { host: '192.0.2.10', port: 6443 } });
  });

  it('waits on an exhausted pool (PoolExhausted on the claim, an Event on the Cluster) until an address frees', async () => {
    ctl = await startEndpoints(cp);
    await createPool(cp.access, 'InClusterIPPool', ns, 'tiny', { addresses: ['10.81.0.1'], prefix: 24 });
    await createClaim(cp.access, ns, 'holder', { kind: 'InClusterIPPool', name: 'tiny' });
    await waitFor(
      'the holder bound',
      async () => (await get(cp.access, addressPath(ns, 'holder')))?.spec?.address,
    );
    await createCluster(cp.access, ns, 'late', {
      annotations: { [ENDPOINT_POOL]: 'InClusterIPPool/tiny' },
      spec: { paused: false },
    });
    await waitForReason(cp.access, ns, 'late.control-plane-endpoint', 'PoolExhausted');
    await waitFor('the Cluster told', async () => (await events('late', 'PoolExhausted')) >= 1);
    expect(await endpointOf('late')).toBeUndefined();
    expect((await cp.access.request('DELETE', claimPath(ns, 'holder'))).status).toBe(200);
    expect(await waitFor('the endpoint', async () => (await endpointOf('late'))?.host)).toBe('10.81.0.1');
  });

  it('releases the address of a deleted Cluster, for the next Cluster', async () => {
    ctl = await startEndpoints(cp);
    expect(await endpointOf('late')).toEqual({ host: '10.81.0.1', port: 6443 });
    const path = `/apis/cluster.x-k8s.io/v1beta2/namespaces/${ns}/clusters/late`;
    expect((await cp.access.request('DELETE', path)).status).toBe(200);
    await waitFor('the claim and its IPAddress gone', async () => {
      const claim = await get(cp.access, claimPath(ns, 'late.control-plane-endpoint'));
      const address = await get(cp.access, addressPath(ns, 'late.control-plane-endpoint'));
      return claim === undefined && address === undefined;
    });
    await createCluster(cp.access, ns, 'next', {
      annotations: { [ENDPOINT_POOL]: 'InClusterIPPool/tiny' },
      spec: { paused: false },
    });
    expect(await waitFor('the freed address', async () => (await endpointOf('next'))?.host)).toBe(
      '10.81.0.1',
    );
  });

  it('claims once and writes once across a restart between the claim and the write', async () => {
    // The first controller cannot write Clusters: it stops with the claim bound and nothing written.
    let refusedWrites = 0;
    ctl = await startEndpoints(cp, {
      prepareClient: (client) => {
        const patch = client.patch.bind(client);
        client.patch = (async (resource, name, body, opts) => {
          if (resource.plural === 'clusters') {
            refusedWrites++;
            throw new KubeApiError('Unavailable', 'injected: the API server went away', 503);
          }
          return patch(resource, name, body, opts);
        }) as typeof client.patch;
      },
    });
    await createCluster(cp.access, ns, 'restart', {
      annotations: { [ENDPOINT_POOL]: 'InClusterIPPool/vips', [UNPAUSE]: 'true' },
      spec: { paused: true },
    });
    await waitFor('a write tried with the claim bound', async () => {
      const claim = await get(cp.access, claimPath(ns, 'restart.control-plane-endpoint'));
      return claim?.status?.addressRef !== undefined && refusedWrites > 0;
    });
    await ctl.stop(false);
    ctl = await startEndpoints(cp);
    await waitFor(
      'written and unpaused',
      async () => (await getCluster(cp.access, ns, 'restart'))?.spec.paused === false,
    );
    expect(await endpointActions(ctl, 'claimed')).toBe(0);
    expect(await endpointActions(ctl, 'written')).toBe(1);
    // A third start, and the Cluster touched: nothing more is written.
    await ctl.stop();
    ctl = await startEndpoints(cp);
    const settled = await endpointsIdle(ctl);
    const touched = await cp.access.request(
      'PATCH',
      `/apis/cluster.x-k8s.io/v1beta2/namespaces/${ns}/clusters/restart`,
      { metadata: { labels: { touched: 'yes' } } },
      { contentType: 'application/merge-patch+json' },
    );
    expect(touched.status).toBe(200);
    await endpointsIdle(ctl, settled);
    expect(await endpointActions(ctl, 'written')).toBe(0);
    expect(await endpointClaims(cp.access, ns, 'restart')).toHaveLength(1);
    expect(
      (await listAddresses(cp.access, ns)).filter((a) => a.metadata.name.startsWith('restart.')),
    ).toHaveLength(1);
    for (const reason of ['EndpointAddressClaimed', 'ControlPlaneEndpointSet', 'Unpaused'])
      expect(await events('restart', reason), reason).toBe(1);
  });

  it('writes nothing and claims nothing with --cluster-endpoints=false', async () => {
    ctl = await startEndpoints(cp, { clusterEndpoints: false });
    await createCluster(cp.access, ns, 'off', {
      annotations: { [ENDPOINT_POOL]: 'InClusterIPPool/vips', [UNPAUSE]: 'true' },
      spec: { paused: true },
    });
    const before = await getCluster(cp.access, ns, 'off');
    // Claims are still served: once one made after the Cluster is bound, the Cluster was seen.
    await createClaim(cp.access, ns, 'plain', { kind: 'InClusterIPPool', name: 'vips' });
    await waitFor(
      'the plain claim bound',
      async () => (await get(cp.access, addressPath(ns, 'plain')))?.spec?.address,
    );
    expect(await endpointClaims(cp.access, ns, 'off')).toEqual([]);
    expect((await getCluster(cp.access, ns, 'off'))?.metadata.resourceVersion).toBe(
      before?.metadata.resourceVersion,
    );
    expect(await events('off', 'EndpointAddressClaimed')).toBe(0);
    expect(ctl.manager.endpointQueue).toBeUndefined();
  });
});
