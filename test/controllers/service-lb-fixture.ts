/**
 * Helpers of the Service load-balancer tests: the manager in-process with the flags under test,
 * Services made and read through the API, their claims found by their label.
 */
import { pino } from 'pino';
import { Manager } from '../../src/controllers/manager.js';
import type { ServiceLbOptions } from '../../src/controllers/service-lb-rules.js';
import { KubeClient } from '../../src/kube/index.js';
import { Metrics } from '../../src/observability/metrics.js';
import type { ClusterAccess } from '../harness/access.js';
import type { ControlPlane } from '../harness/control-plane.js';
import { waitFor } from '../harness/wait.js';
import { claimsLabelled, type Obj, STATUS_WINDOW_MS } from './fixture.js';

export const LB_CLASS = 'ipam.cluster.x-k8s.io/in-cluster';
export const POOL_ANNOTATION = 'ipam.cluster.x-k8s.io/pool';
export const SERVICE_LB_POOL_LABEL = 'ipam.cluster.x-k8s.io/service-lb';
export const LABEL_SERVICE_LB_OF = 'ipam.cluster.x-k8s.io/service-lb-of';
export const CONDITION = 'ipam.cluster.x-k8s.io/LoadBalancerAddress';

export interface RunningServiceLb {
  manager: Manager;
  metrics: Metrics;
  stop(): Promise<void>;
}

export async function startServiceLb(
  cp: ControlPlane,
  options: ServiceLbOptions | undefined,
  namespace?: string,
): Promise<RunningServiceLb> {
  const client = KubeClient.fromFile(cp.kubeconfigPath);
  const metrics = new Metrics();
  const manager = new Manager({
    client,
    log: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    metrics,
    claimConcurrency: 4,
    statusWindowMs: STATUS_WINDOW_MS,
    clusterEndpoints: false,
    ...(namespace ? { namespace } : {}),
    ...(options ? { serviceLoadBalancers: options } : {}),
  });
  const abort = new AbortController();
  await manager.start(abort.signal);
  return {
    manager,
    metrics,
    stop: async () => {
      abort.abort();
      await manager.stop({ drain: true });
      await client.close();
    },
  };
}

export interface ServiceObj {
  metadata: {
    name: string;
    uid: string;
    resourceVersion: string;
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
  };
  spec: { type?: string; loadBalancerClass?: string; loadBalancerIP?: string; ports?: unknown[] };
  status?: {
    loadBalancer?: { ingress?: { ip?: string; ipMode?: string }[] };
    conditions?: { type: string; status: string; reason: string; message: string }[];
  };
}

export function servicePath(ns: string, name = ''): string {
  return `/api/v1/namespaces/${ns}/services${name ? `/${name}` : ''}`;
}

export async function createService(
  access: ClusterAccess,
  ns: string,
  name: string,
  opts: {
    annotations?: Record<string, string>;
    loadBalancerClass?: string;
    loadBalancerIP?: string;
    type?: string;
    /** Merged into the spec last: ports, ipFamilies, ipFamilyPolicy, externalTrafficPolicy… */
    spec?: Record<string, unknown>;
  } = {},
): Promise<void> {
  const res = await access.request('POST', servicePath(ns), {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, annotations: opts.annotations },
    spec: {
      type: opts.type ?? 'LoadBalancer',
      ports: [{ port: 80, protocol: 'TCP' }],
      selector: { app: name },
      ...(opts.loadBalancerClass ? { loadBalancerClass: opts.loadBalancerClass } : {}),
      ...(opts.loadBalancerIP ? { loadBalancerIP: opts.loadBalancerIP } : {}),
      ...opts.spec,
    },
  });
  if (res.status !== 201) throw new Error(`Service ${ns}/${name}: ${res.status} ${res.text}`);
}

export async function getService(
  access: ClusterAccess,
  ns: string,
  name: string,
): Promise<ServiceObj | undefined> {
  const res = await access.request<ServiceObj>('GET', servicePath(ns, name));
  return res.status === 200 ? res.body : undefined;
}

export function conditionOf(svc: ServiceObj | undefined) {
  return svc?.status?.conditions?.find((c) => c.type === CONDITION);
}

/** The ingress address once the Service carries one, with our condition True. */
export async function assignedAddress(
  access: ClusterAccess,
  ns: string,
  name: string,
): Promise<string | undefined> {
  const svc = await getService(access, ns, name);
  const ip = svc?.status?.loadBalancer?.ingress?.[0]?.ip;
  return ip && conditionOf(svc)?.status === 'True' ? ip : undefined;
}

/** Every ingress address, in order, once the Service carries them with our condition True. */
export async function assignedAddresses(
  access: ClusterAccess,
  ns: string,
  name: string,
): Promise<string[] | undefined> {
  const svc = await getService(access, ns, name);
  const ips = (svc?.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip ? [i.ip] : []));
  return ips.length && conditionOf(svc)?.status === 'True' ? ips : undefined;
}

/** Our condition once its reason is `reason`. */
export function waitForServiceReason(
  access: ClusterAccess,
  ns: string,
  name: string,
  reason: string,
): Promise<NonNullable<ReturnType<typeof conditionOf>> & { svc: ServiceObj }> {
  return waitFor(`Service ${ns}/${name} ${reason}`, async () => {
    const svc = await getService(access, ns, name);
    const c = conditionOf(svc);
    return c?.reason === reason && svc ? { ...c, svc } : undefined;
  });
}

/** The claims labelled as the load-balancer address of this Service. */
export function serviceClaims(access: ClusterAccess, ns: string, service: string): Promise<Obj[]> {
  return claimsLabelled(access, ns, LABEL_SERVICE_LB_OF, service);
}

/** ipam_service_lb_actions_total{action} of this controller. */
export async function serviceActions(ctl: RunningServiceLb, action: string): Promise<number> {
  const values = (await ctl.metrics.serviceLoadBalancers.get()).values;
  return values.find((v) => v.labels.action === action)?.value ?? 0;
}
