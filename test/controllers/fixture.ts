/**
 * A control plane of the test file's own with the provider's manager running in-process, plus
 * small helpers to create pools and claims and read what the controller made of them.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { Manager } from '../../src/controllers/manager.js';
import { KubeClient } from '../../src/kube/index.js';
import { Metrics } from '../../src/observability/metrics.js';
import type { ClusterAccess } from '../harness/access.js';
import { ControlPlane } from '../harness/control-plane.js';
import { waitFor } from '../harness/wait.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
export const crdPaths = [join(root, 'crds'), join(root, 'test/crds/capi')].filter(existsSync);

export const IPAM = '/apis/ipam.cluster.x-k8s.io';
/** The status writer's coalescing window in tests: at most one write per pool per window. */
export const STATUS_WINDOW_MS = 250;

export interface RunningController {
  manager: Manager;
  metrics: Metrics;
  client: KubeClient;
  stop(drain?: boolean): Promise<void>;
}

export async function startController(
  cp: ControlPlane,
  opts: {
    watchFilter?: string;
    concurrency?: number;
    statusWindowMs?: number;
    /** Changes the controller's client before it starts, to inject faults into its requests. */
    prepareClient?: (client: KubeClient) => void;
  } = {},
): Promise<RunningController> {
  const client = KubeClient.fromFile(cp.kubeconfigPath);
  opts.prepareClient?.(client);
  const metrics = new Metrics();
  const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const manager = new Manager({
    client,
    log,
    metrics,
    watchFilter: opts.watchFilter,
    claimConcurrency: opts.concurrency ?? 10,
    statusWindowMs: opts.statusWindowMs ?? STATUS_WINDOW_MS,
  });
  const abort = new AbortController();
  await manager.start(abort.signal);
  return {
    manager,
    metrics,
    client,
    stop: async (drain = true) => {
      abort.abort();
      await manager.stop({ drain });
      await client.close();
    },
  };
}

export function startControlPlane(): Promise<ControlPlane> {
  return ControlPlane.start({ crds: crdPaths, controllerManager: true });
}

export async function createNamespace(access: ClusterAccess, name: string): Promise<void> {
  const res = await access.request('POST', '/api/v1/namespaces', { metadata: { name } });
  if (res.status !== 201) throw new Error(`namespace ${name}: ${res.text}`);
}

export interface PoolSpec {
  addresses: string[];
  prefix: number;
  gateway?: string;
  excludedAddresses?: string[];
  allocateReservedIPAddresses?: boolean;
  addressReuseGracePeriodSeconds?: number;
}

export function poolPath(kind: 'InClusterIPPool' | 'GlobalInClusterIPPool', ns: string, name = ''): string {
  const base =
    kind === 'GlobalInClusterIPPool'
      ? `${IPAM}/v1alpha2/globalinclusterippools`
      : `${IPAM}/v1alpha2/namespaces/${ns}/inclusterippools`;
  return name ? `${base}/${name}` : base;
}

export async function createPool(
  access: ClusterAccess,
  kind: 'InClusterIPPool' | 'GlobalInClusterIPPool',
  ns: string,
  name: string,
  spec: PoolSpec,
  metadata: Record<string, unknown> = {},
): Promise<void> {
  const res = await access.request('POST', poolPath(kind, ns), {
    apiVersion: 'ipam.cluster.x-k8s.io/v1alpha2',
    kind,
    metadata: { name, ...metadata },
    spec,
  });
  if (res.status !== 201) throw new Error(`pool ${name}: ${res.status} ${res.text}`);
}

export async function createClaim(
  access: ClusterAccess,
  ns: string,
  name: string,
  poolRef: { kind: string; name: string; apiGroup?: string },
  extra: { labels?: Record<string, string>; annotations?: Record<string, string>; clusterName?: string } = {},
): Promise<void> {
  const res = await access.request('POST', `${IPAM}/v1beta2/namespaces/${ns}/ipaddressclaims`, {
    apiVersion: 'ipam.cluster.x-k8s.io/v1beta2',
    kind: 'IPAddressClaim',
    metadata: { name, labels: extra.labels, annotations: extra.annotations },
    spec: {
      poolRef: { apiGroup: 'ipam.cluster.x-k8s.io', ...poolRef },
      ...(extra.clusterName ? { clusterName: extra.clusterName } : {}),
    },
  });
  if (res.status !== 201) throw new Error(`claim ${name}: ${res.status} ${res.text}`);
}

export interface Obj {
  metadata: {
    name: string;
    namespace?: string;
    finalizers?: string[];
    labels?: Record<string, string>;
    ownerReferences?: { kind: string; name: string; controller?: boolean; blockOwnerDeletion?: boolean }[];
    deletionTimestamp?: string;
  };
  spec?: Record<string, unknown> & { address?: string };
  status?: {
    addressRef?: { name: string };
    conditions?: { type: string; status: string; reason: string; message: string }[];
    ipAddresses?: { total: number; used: number; free: number; outOfRange: number };
  };
}

export async function get(access: ClusterAccess, path: string): Promise<Obj | undefined> {
  const res = await access.request<Obj>('GET', path);
  return res.status === 200 ? res.body : undefined;
}

export function claimPath(ns: string, name = ''): string {
  return `${IPAM}/v1beta2/namespaces/${ns}/ipaddressclaims${name ? `/${name}` : ''}`;
}

export function addressPath(ns: string, name = ''): string {
  return `${IPAM}/v1beta2/namespaces/${ns}/ipaddresses${name ? `/${name}` : ''}`;
}

export function readyOf(
  claim: Obj | undefined,
): { status: string; reason: string; message: string } | undefined {
  return claim?.status?.conditions?.find((c) => c.type === 'Ready');
}

/** Waits until the claim has an IPAddress and returns its address. */
export async function waitForAddress(
  access: ClusterAccess,
  ns: string,
  name: string,
  timeoutMs = 20_000,
): Promise<string> {
  return waitFor(
    `an address for claim ${ns}/${name}`,
    async () => {
      const claim = await get(access, claimPath(ns, name));
      if (claim?.status?.addressRef?.name !== name) return undefined;
      const ip = await get(access, addressPath(ns, name));
      return ip?.spec?.address;
    },
    { timeoutMs },
  );
}

export async function waitForReason(
  access: ClusterAccess,
  ns: string,
  name: string,
  reason: string,
): Promise<Obj> {
  return waitFor(`claim ${ns}/${name} Ready reason ${reason}`, async () => {
    const claim = await get(access, claimPath(ns, name));
    return readyOf(claim)?.reason === reason ? claim : undefined;
  });
}

/** The claims of a namespace with `label` = `value`. */
export async function claimsLabelled(
  access: ClusterAccess,
  ns: string,
  label: string,
  value: string,
): Promise<Obj[]> {
  const selector = encodeURIComponent(`${label}=${value}`);
  const res = await access.request<{ items: Obj[] }>(
    'GET',
    `${IPAM}/v1beta2/namespaces/${ns}/ipaddressclaims?labelSelector=${selector}`,
  );
  return res.body.items;
}

export async function listAddresses(access: ClusterAccess, ns?: string): Promise<Obj[]> {
  const path = ns ? addressPath(ns) : `${IPAM}/v1beta2/ipaddresses`;
  const res = await access.request<{ items: Obj[] }>('GET', path);
  return res.body.items;
}

/** How often an event of this reason was recorded for the named object (repeats bump count). */
export async function eventCount(
  access: ClusterAccess,
  ns: string,
  name: string,
  reason: string,
): Promise<number> {
  const res = await access.request<{ items: { reason: string; count?: number }[] }>(
    'GET',
    `/api/v1/namespaces/${ns}/events?fieldSelector=involvedObject.name=${name}`,
  );
  return res.body.items.filter((e) => e.reason === reason).reduce((n, e) => n + (e.count ?? 1), 0);
}

/** Reconciles of claims so far (controller="ipaddressclaim"), whatever their result. */
export async function claimReconciles(ctl: RunningController): Promise<number> {
  return (await ctl.metrics.reconciles.get()).values.reduce(
    (n, v) => (v.labels.controller === 'ipaddressclaim' ? n + v.value : n),
    0,
  );
}

/**
 * Changes a label of the claim at `path` `times` times, each time waiting until the claim
 * controller has reconciled once more: reconciles that change nothing the claim's state says.
 */
export async function touchClaim(
  access: ClusterAccess,
  ctl: RunningController,
  path: string,
  times = 3,
): Promise<void> {
  const before = await claimReconciles(ctl);
  for (let n = 1; n <= times; n++) {
    const res = await access.request(
      'PATCH',
      path,
      { metadata: { labels: { touched: String(n) } } },
      { contentType: 'application/merge-patch+json' },
    );
    if (res.status !== 200) throw new Error(`touching ${path}: ${res.status} ${res.text}`);
    await waitFor(`reconcile after touch ${n}`, async () => (await claimReconciles(ctl)) >= before + n);
  }
}
