/**
 * Helpers of the Service load-balancer scale test: a controller that can also be stopped hard,
 * Services made and deleted as a busy cluster does, Cluster API-style claims churned beside them
 * from the same pool, and one snapshot of everything the final checks judge.
 */
import { pino } from 'pino';
import { Manager } from '../../src/controllers/manager.js';
import { KubeClient } from '../../src/kube/index.js';
import { Metrics } from '../../src/observability/metrics.js';
import type { ClusterAccess } from '../harness/access.js';
import type { ControlPlane } from '../harness/control-plane.js';
import { waitFor } from '../harness/wait.js';
import { type Address, type Claim, IPAM_GROUP, type Pool, type Snapshot } from '../soak/checks.js';
import { claimPath, STATUS_WINDOW_MS } from './fixture.js';
import { POOL_ANNOTATION, servicePath } from './service-lb-fixture.js';

export interface ScaleController {
  manager: Manager;
  metrics: Metrics;
  /** drain: a clean stop (queued work finished); else stop at once, in-flight requests abandoned. */
  stop(drain: boolean): Promise<void>;
}

/**
 * The manager with --service-lb-class=`className`. Its log goes to SCALE_LOG_FILE when set (at
 * TEST_LOG_LEVEL, default info), else nowhere unless TEST_LOG_LEVEL asks for stdout.
 */
export async function startScaleController(cp: ControlPlane, className: string): Promise<ScaleController> {
  const client = KubeClient.fromFile(cp.kubeconfigPath);
  const metrics = new Metrics();
  const file = process.env.SCALE_LOG_FILE;
  const log = file
    ? pino({ level: process.env.TEST_LOG_LEVEL ?? 'info' }, pino.destination({ dest: file, append: true }))
    : pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const manager = new Manager({
    client,
    log,
    metrics,
    claimConcurrency: 10,
    statusWindowMs: STATUS_WINDOW_MS,
    clusterEndpoints: false,
    serviceLoadBalancers: { className, serveDefault: false },
  });
  const abort = new AbortController();
  await manager.start(abort.signal);
  return {
    manager,
    metrics,
    stop: async (drain) => {
      abort.abort();
      await manager.stop({ drain });
      await client.close();
    },
  };
}

/** A small seeded generator (mulberry32): a failing run is replayed with its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Picks `n` distinct items at random (fewer if there are fewer). */
export function pick<T>(random: () => number, items: Iterable<T>, n: number): T[] {
  const all = [...items];
  for (let i = all.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [all[i], all[j]] = [all[j] as T, all[i] as T];
  }
  return all.slice(0, n);
}

export interface ScaleService {
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    resourceVersion: string;
    deletionTimestamp?: string;
    annotations?: Record<string, string>;
  };
  spec: { type?: string; loadBalancerClass?: string };
  status?: {
    loadBalancer?: { ingress?: { ip?: string; ipMode?: string; hostname?: string }[] };
    conditions?: { type: string; status: string; reason: string; message: string }[];
  };
}

/**
 * A LoadBalancer Service of `className` without node ports (a thousand Services would use up the
 * node-port range); `pool` names its pool by annotation instead of the pools' label. A create that
 * meets the previous Service of that name still being deleted is tried again until it lands.
 * Returns the new Service's uid.
 */
export async function createLoadBalancer(
  access: ClusterAccess,
  ns: string,
  name: string,
  className: string,
  pool?: string,
): Promise<string> {
  const body = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, ...(pool ? { annotations: { [POOL_ANNOTATION]: pool } } : {}) },
    spec: {
      type: 'LoadBalancer',
      loadBalancerClass: className,
      allocateLoadBalancerNodePorts: false,
      ports: [{ port: 80, protocol: 'TCP' }],
      selector: { app: name },
    },
  };
  // AlreadyExists: the earlier Service of this name is still being deleted (Foreground waits for
  // the garbage collector).
  const res = await waitFor(
    `the earlier Service ${ns}/${name} to be gone`,
    async () => {
      const answer = await access.request<ScaleService>('POST', servicePath(ns), body);
      return answer.status === 409 ? undefined : answer;
    },
    { timeoutMs: 30_000, intervalMs: 100 },
  );
  if (res.status !== 201) throw new Error(`Service ${ns}/${name}: ${res.status} ${res.text}`);
  return res.body.metadata.uid;
}

export type Propagation = 'Background' | 'Foreground' | 'Orphan';

/** Deletes the Service with this propagation policy; it must exist. */
export async function deleteService(
  access: ClusterAccess,
  ns: string,
  name: string,
  propagationPolicy: Propagation,
): Promise<void> {
  const res = await access.request('DELETE', servicePath(ns, name), {
    apiVersion: 'v1',
    kind: 'DeleteOptions',
    propagationPolicy,
  });
  if (res.status !== 200 && res.status !== 202)
    throw new Error(`deleting Service ${ns}/${name}: ${res.status} ${res.text}`);
}

export interface ClaimChurnPlan {
  pool: { kind: string; name: string };
  namespaces: readonly string[];
  /** Above this many live claims a round only deletes. */
  maxAlive: number;
  random: () => number;
  /** Polled between rounds: the churn stops once it says so. */
  done: () => boolean;
}

export interface ClaimChurnFigures {
  created: number;
  deleted: number;
  /** Claims deleted right after their create answered, to land in every step of an allocation. */
  quickDeleted: number;
  rounds: number;
  /** namespace/name of the claims left alive. */
  alive: Set<string>;
}

/**
 * Cluster API's machines, as the pool sees them: plain IPAddressClaims with a poolRef, created and
 * deleted several at a time, without pausing, until `done()`.
 */
export async function churnCapiClaims(
  access: ClusterAccess,
  plan: ClaimChurnPlan,
): Promise<ClaimChurnFigures> {
  const figures: ClaimChurnFigures = { created: 0, deleted: 0, quickDeleted: 0, rounds: 0, alive: new Set() };
  let sequence = 0;
  const create = async (): Promise<string> => {
    const n = ++sequence;
    const namespace = plan.namespaces[n % plan.namespaces.length] ?? '';
    const name = `machine-${n}`;
    const res = await access.request('POST', claimPath(namespace), {
      apiVersion: `${IPAM_GROUP}/v1beta2`,
      kind: 'IPAddressClaim',
      metadata: { name },
      spec: { poolRef: { apiGroup: IPAM_GROUP, ...plan.pool } },
    });
    if (res.status !== 201) throw new Error(`claim ${namespace}/${name}: ${res.status} ${res.text}`);
    figures.created++;
    figures.alive.add(`${namespace}/${name}`);
    return `${namespace}/${name}`;
  };
  const remove = async (key: string): Promise<void> => {
    figures.alive.delete(key);
    const [namespace = '', name = ''] = key.split('/');
    const res = await access.request('DELETE', claimPath(namespace, name));
    if (res.status !== 200 && res.status !== 202)
      throw new Error(`deleting claim ${key}: ${res.status} ${res.text}`);
    figures.deleted++;
  };
  while (!plan.done()) {
    figures.rounds++;
    const size = 3 + Math.floor(plan.random() * 6);
    const roll = plan.random();
    if (figures.alive.size > plan.maxAlive || (figures.alive.size > plan.maxAlive / 2 && roll < 0.4)) {
      await Promise.all(pick(plan.random, figures.alive, size).map(remove));
    } else if (roll < 0.8) {
      await Promise.all(Array.from({ length: size }, create));
    } else {
      await Promise.all(
        Array.from({ length: size }, async () => {
          await remove(await create());
          figures.quickDeleted++;
        }),
      );
    }
  }
  return figures;
}

export interface ScaleSnapshot extends Snapshot {
  services: ScaleService[];
}

async function list<T>(access: ClusterAccess, path: string): Promise<T[]> {
  const res = await access.request<{ items: T[] }>('GET', path, undefined, { timeoutMs: 30_000 });
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${res.text}`);
  return res.body.items;
}

/** Every claim, IPAddress and pool of the cluster, and the Services of `ns`, as the API has them. */
export async function readScaleSnapshot(access: ClusterAccess, ns: string): Promise<ScaleSnapshot> {
  const [claims, addresses, global, namespaced, services] = await Promise.all([
    list<Claim>(access, `/apis/${IPAM_GROUP}/v1beta2/ipaddressclaims`),
    list<Address>(access, `/apis/${IPAM_GROUP}/v1beta2/ipaddresses`),
    list<Pool>(access, `/apis/${IPAM_GROUP}/v1alpha2/globalinclusterippools`),
    list<Pool>(access, `/apis/${IPAM_GROUP}/v1alpha2/inclusterippools`),
    list<ScaleService>(access, servicePath(ns)),
  ]);
  const pools = [
    ...global.map((p) => ({ ...p, kind: 'GlobalInClusterIPPool' as const })),
    ...namespaced.map((p) => ({ ...p, kind: 'InClusterIPPool' as const })),
  ];
  return { claims, addresses, pools, services };
}
