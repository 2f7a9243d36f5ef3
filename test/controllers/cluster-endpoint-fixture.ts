/**
 * Helpers of the control-plane endpoint tests: the manager in-process with the switch under test,
 * Clusters made and read through the API, the endpoint claims found by their label.
 */
import { pino } from 'pino';
import { Manager } from '../../src/controllers/manager.js';
import { KubeClient } from '../../src/kube/index.js';
import { Metrics } from '../../src/observability/metrics.js';
import type { ClusterAccess } from '../harness/access.js';
import type { ControlPlane } from '../harness/control-plane.js';
import { waitFor } from '../harness/wait.js';
import { claimsLabelled, type Obj, STATUS_WINDOW_MS } from './fixture.js';

export const ENDPOINT_POOL = 'ipam.cluster.x-k8s.io/control-plane-endpoint-pool';
export const UNPAUSE = 'ipam.cluster.x-k8s.io/unpause-when-endpoint-set';
export const LABEL_ENDPOINT_OF = 'ipam.cluster.x-k8s.io/control-plane-endpoint-of';

export interface RunningEndpoints {
  manager: Manager;
  metrics: Metrics;
  stop(drain?: boolean): Promise<void>;
}

export async function startEndpoints(
  cp: ControlPlane,
  opts: {
    clusterEndpoints?: boolean;
    clusterDiscoveryIntervalMs?: number;
    prepareClient?: (client: KubeClient) => void;
  } = {},
): Promise<RunningEndpoints> {
  const client = KubeClient.fromFile(cp.kubeconfigPath);
  opts.prepareClient?.(client);
  const metrics = new Metrics();
  const manager = new Manager({
    client,
    log: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    metrics,
    claimConcurrency: 4,
    statusWindowMs: STATUS_WINDOW_MS,
    ...(opts.clusterEndpoints === undefined ? {} : { clusterEndpoints: opts.clusterEndpoints }),
    ...(opts.clusterDiscoveryIntervalMs === undefined
      ? {}
      : { clusterDiscoveryIntervalMs: opts.clusterDiscoveryIntervalMs }),
  });
  const abort = new AbortController();
  await manager.start(abort.signal);
  return {
    manager,
    metrics,
    stop: async (drain = true) => {
      abort.abort();
      await manager.stop({ drain });
      await client.close();
    },
  };
}

export interface ClusterObj {
  metadata: {
    name: string;
    uid: string;
    resourceVersion: string;
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
  };
  spec: {
    paused?: boolean;
    controlPlaneEndpoint?: { host: string; port: number };
    topology?: { classRef?: { name: string }; variables?: { name: string; value: unknown }[] };
  };
}

export function clusterPath(ns: string, name = '', version = 'v1beta2'): string {
  return `/apis/cluster.x-k8s.io/${version}/namespaces/${ns}/clusters${name ? `/${name}` : ''}`;
}

export async function createCluster(
  access: ClusterAccess,
  ns: string,
  name: string,
  body: { annotations?: Record<string, string>; spec: Record<string, unknown> },
  version = 'v1beta2',
): Promise<void> {
  const res = await access.request('POST', clusterPath(ns, '', version), {
    apiVersion: `cluster.x-k8s.io/${version}`,
    kind: 'Cluster',
    metadata: { name, annotations: body.annotations },
    spec: body.spec,
  });
  if (res.status !== 201) throw new Error(`Cluster ${ns}/${name}: ${res.status} ${res.text}`);
}

export async function getCluster(
  access: ClusterAccess,
  ns: string,
  name: string,
  version = 'v1beta2',
): Promise<ClusterObj | undefined> {
  const res = await access.request<ClusterObj>('GET', clusterPath(ns, name, version));
  return res.status === 200 ? res.body : undefined;
}

/** The claims labelled as the endpoint of this Cluster. */
export function endpointClaims(access: ClusterAccess, ns: string, cluster: string): Promise<Obj[]> {
  return claimsLabelled(access, ns, LABEL_ENDPOINT_OF, cluster);
}

/** ipam_cluster_endpoint_actions_total{action} of this controller. */
export async function endpointActions(ctl: RunningEndpoints, action: string): Promise<number> {
  const values = (await ctl.metrics.clusterEndpoints.get()).values;
  return values.find((v) => v.labels.action === action)?.value ?? 0;
}

/** Reconciles of Clusters' endpoints so far. */
export async function endpointReconciles(ctl: RunningEndpoints): Promise<number> {
  return (await ctl.metrics.reconciles.get()).values.reduce(
    (n, v) => (v.labels.controller === 'clusterendpoint' ? n + v.value : n),
    0,
  );
}

/** Waits until the endpoint controller has nothing queued, delayed or running. */
export async function endpointsIdle(ctl: RunningEndpoints, after = 0): Promise<number> {
  const q = ctl.manager.endpointQueue;
  return waitFor('the endpoint controller idle', async () => {
    const n = await endpointReconciles(ctl);
    const idle = !q || (q.len() === 0 && q.processingCount() === 0 && q.delayedCount() === 0);
    return idle && n > after ? n : undefined;
  });
}
