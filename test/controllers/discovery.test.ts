/**
 * Cluster API installed after the controller started, and discovery that fails while it starts:
 * claims naming a Cluster must be served once the Cluster kind is there, without a restart, and a
 * 5xx from discovery must be asked again rather than taken for "not served" or end the start.
 * The control plane starts without Cluster API's Cluster CRD; the tests install it.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Manager, type ManagerOptions } from '../../src/controllers/manager.js';
import { KubeApiError, KubeClient } from '../../src/kube/index.js';
import { Metrics } from '../../src/observability/metrics.js';
import { ControlPlane } from '../harness/control-plane.js';
import { waitFor } from '../harness/wait.js';
import {
  claimPath,
  createClaim,
  createNamespace,
  createPool,
  get,
  STATUS_WINDOW_MS,
  waitForAddress,
} from './fixture.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const CAPI = join(root, 'test/crds/capi');
const CLUSTER_CRD = join(CAPI, 'cluster.x-k8s.io_clusters.yaml');
const CLUSTER_CRD_NAME = 'clusters.cluster.x-k8s.io';
const WITHOUT_CLUSTERS = [
  join(root, 'crds'),
  join(CAPI, 'ipam.cluster.x-k8s.io_ipaddressclaims.yaml'),
  join(CAPI, 'ipam.cluster.x-k8s.io_ipaddresses.yaml'),
];
const CLUSTERS = '/apis/cluster.x-k8s.io/v1beta2';

interface Started {
  manager: Manager;
  stop(): Promise<void>;
}

/** The manager in-process, with the options under test and discovery faults injected. */
async function startManager(
  cp: ControlPlane,
  opts: Partial<ManagerOptions> & { prepareClient?: (client: KubeClient) => void } = {},
): Promise<Started> {
  const client = KubeClient.fromFile(cp.kubeconfigPath);
  opts.prepareClient?.(client);
  const manager = new Manager({
    client,
    log: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    metrics: new Metrics(),
    claimConcurrency: 4,
    statusWindowMs: STATUS_WINDOW_MS,
    ...opts,
  });
  const abort = new AbortController();
  await manager.start(abort.signal);
  return {
    manager,
    stop: async () => {
      abort.abort();
      await manager.stop({ drain: true });
      await client.close();
    },
  };
}

/** Discovery of `group` (`version`, or any) answers 500 `times` times, then as the API server does. */
function failDiscovery(group: string, times: number, only?: string) {
  const failed = { count: 0 };
  const prepare = (client: KubeClient) => {
    const discover = client.discover.bind(client);
    client.discover = async (g, version) => {
      if (g === group && (only === undefined || version === only) && failed.count < times) {
        failed.count++;
        throw new KubeApiError('InternalError', `discovery of ${g}/${version}: injected`, 500);
      }
      return discover(g, version);
    };
  };
  return { failed, prepare };
}

async function createCluster(cp: ControlPlane, ns: string, name: string): Promise<void> {
  const res = await cp.access.request('POST', `${CLUSTERS}/namespaces/${ns}/clusters`, {
    apiVersion: 'cluster.x-k8s.io/v1beta2',
    kind: 'Cluster',
    metadata: { name },
    spec: { paused: false },
  });
  if (res.status !== 201) throw new Error(`Cluster ${ns}/${name}: ${res.status} ${res.text}`);
}

async function clusterKindServed(cp: ControlPlane): Promise<boolean> {
  const res = await cp.access.request<{ resources?: { name: string }[] }>('GET', CLUSTERS);
  return res.status === 200 && (res.body.resources ?? []).some((r) => r.name === 'clusters');
}

/** Removes Cluster API's Cluster CRD (and its Clusters) and waits until discovery no longer lists it. */
async function uninstallClusterKind(cp: ControlPlane): Promise<void> {
  const path = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${CLUSTER_CRD_NAME}`;
  const res = await cp.access.request('DELETE', path);
  expect([200, 404]).toContain(res.status);
  await waitFor('the Cluster CRD to be gone', async () => {
    const crd = await cp.access.request('GET', path);
    return crd.status === 404 && !(await clusterKindServed(cp));
  });
}

describe('Cluster API discovery', () => {
  let cp: ControlPlane;
  let ctl: Started | undefined;
  const pool = { kind: 'InClusterIPPool', name: 'p' } as const;

  async function namespaceWithPool(ns: string, range: string): Promise<void> {
    await createNamespace(cp.access, ns);
    await createPool(cp.access, 'InClusterIPPool', ns, 'p', { addresses: [range], prefix: 24 });
  }

  beforeAll(async () => {
    cp = await ControlPlane.start({ crds: WITHOUT_CLUSTERS });
  });
  afterEach(async () => {
    await ctl?.stop();
    ctl = undefined;
  });
  afterAll(async () => {
    await cp?.stop();
  });

  it('serves a claim naming a Cluster once the Cluster kind is installed after the start', async () => {
    expect(await clusterKindServed(cp)).toBe(false);
    ctl = await startManager(cp, { clusterDiscoveryIntervalMs: 300 });
    const ns = 'late-capi';
    await namespaceWithPool(ns, '10.70.0.0/24');
    // The claim comes first: its Cluster cannot exist yet, so it waits; only asking discovery
    // again later can find the kind.
    await createClaim(cp.access, ns, 'early', pool, { clusterName: 'c1' });
    await cp.installCRDs([CLUSTER_CRD]);
    await createCluster(cp, ns, 'c1');
    expect(await waitForAddress(cp.access, ns, 'early')).toBe('10.70.0.1');
    // And the Cluster cache now follows: a claim of a Cluster made later is served too.
    await createCluster(cp, ns, 'c2');
    await createClaim(cp.access, ns, 'later', pool, { labels: { 'cluster.x-k8s.io/cluster-name': 'c2' } });
    expect(await waitForAddress(cp.access, ns, 'later')).toBe('10.70.0.2');
  });

  it('looks again as soon as a claim naming a Cluster arrives, not only when the interval is up', async () => {
    await uninstallClusterKind(cp);
    // An interval far beyond the test's time: only the claim can prompt the look.
    ctl = await startManager(cp, { clusterDiscoveryIntervalMs: 600_000 });
    const ns = 'prompt';
    await namespaceWithPool(ns, '10.71.0.0/24');
    await cp.installCRDs([CLUSTER_CRD]);
    await createCluster(cp, ns, 'c1');
    await createClaim(cp.access, ns, 'a', pool, { clusterName: 'c1' });
    expect(await waitForAddress(cp.access, ns, 'a', 15_000)).toBe('10.71.0.1');
  });

  it('asks discovery again when it fails at the start, instead of taking Clusters for not served', async () => {
    expect(await clusterKindServed(cp)).toBe(true);
    const faults = failDiscovery('cluster.x-k8s.io', 3);
    ctl = await startManager(cp, { clusterDiscoveryIntervalMs: 600_000, prepareClient: faults.prepare });
    const ns = 'discovery-5xx';
    await namespaceWithPool(ns, '10.72.0.0/24');
    await createCluster(cp, ns, 'c1');
    await createClaim(cp.access, ns, 'a', pool, { clusterName: 'c1' });
    expect(await waitForAddress(cp.access, ns, 'a', 15_000)).toBe('10.72.0.1');
    expect(faults.failed.count).toBe(3);
  });

  it('starts when discovery of the pool kinds fails for a while', async () => {
    // v1alpha2 serves only the pool kinds: the claims' own discovery goes through.
    const faults = failDiscovery('ipam.cluster.x-k8s.io', 2, 'v1alpha2');
    ctl = await startManager(cp, { prepareClient: faults.prepare });
    expect(faults.failed.count).toBe(2);
    const ns = 'pools-5xx';
    await namespaceWithPool(ns, '10.73.0.0/24');
    await createClaim(cp.access, ns, 'a', pool);
    expect(await waitForAddress(cp.access, ns, 'a')).toBe('10.73.0.1');
    expect((await get(cp.access, claimPath(ns, 'a')))?.status?.addressRef?.name).toBe('a');
  });
});
