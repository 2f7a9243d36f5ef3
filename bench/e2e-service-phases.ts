/**
 * The phases bench/e2e-services.ts compares, each on the same control plane and from the same
 * store (the pool and the phase's own N Services): a plain client making the writes a provider
 * must make per Service, and the controller as its own process giving N Services their addresses.
 * What counts as "must" is said in e2e-services.ts.
 */
import type { ClusterAccess } from '../test/harness/access.js';
import { bindClaim, CLAIM_RESOURCES } from './e2e-phases.js';
import {
  type ControllerStats,
  IPAM,
  MERGE_PATCH,
  must,
  PhaseRunner,
  type PhaseStats,
  PROVIDER,
  pool,
} from './e2e-runner.js';
import { type BoundWatch, watchUntil } from './e2e-stats.js';

/** Services of this class the controller serves (--service-lb-class). */
export const LB_CLASS = 'ipam.cluster.x-k8s.io/in-cluster';
/**
 * The baseline's Services: a class nobody serves, as the claims case's baseline claims name a
 * pool kind nobody serves, so that a controller phase after it never touches them (BENCH_CLEAN=0).
 */
const UNSERVED_CLASS = 'bench.example.com/unserved';
const LABEL_SERVICE_LB_OF = 'ipam.cluster.x-k8s.io/service-lb-of';

/** A phase leaves claims, IPAddresses and the controller's Events behind (its Services go by the API). */
const SERVICE_PHASE_RESOURCES = [
  ...CLAIM_RESOURCES,
  { etcd: 'events', list: '/api/v1/namespaces/{ns}/events' },
];

const servicesPath = (ns: string) => `/api/v1/namespaces/${ns}/services`;

/** The baseline's address for the i-th Service: distinct, as the pool's would be. */
const addressOf = (i: number) => `10.128.${(i + 2) >> 8}.${(i + 2) & 255}`;

/** Watches a namespace's Services until `n` of them carry status.loadBalancer.ingress. */
function watchIngress(a: ClusterAccess, ns: string, n: number): BoundWatch {
  return watchUntil(
    a,
    servicesPath(ns),
    n,
    '"ingress"',
    (o) => ((o.status as { loadBalancer?: { ingress?: unknown[] } })?.loadBalancer?.ingress?.length ?? 0) > 0,
  );
}

export class ServiceBench extends PhaseRunner {
  private readonly names = Array.from({ length: this.cfg.n }, (_, i) => `svc-${i}`);

  /** The pool Services draw from without naming one: labelled for them, room for every phase. */
  async createPool(): Promise<void> {
    await must(this.a, 'POST', `${IPAM}/v1alpha2/globalinclusterippools`, {
      apiVersion: 'ipam.cluster.x-k8s.io/v1alpha2',
      kind: 'GlobalInClusterIPPool',
      metadata: { name: 'bench-vips', labels: { 'ipam.cluster.x-k8s.io/service-lb': 'true' } },
      spec: { addresses: ['10.128.0.0/16'], prefix: 16, gateway: '10.128.0.1' },
    });
  }

  /**
   * Baseline: N Services of a class nobody serves (not timed, as the claims case's claims), then
   * per Service, 32 in flight: its claim created, the claim flow's three contract writes, the
   * Service's metadata patch and its status patch.
   */
  async writePhase(ns: string): Promise<PhaseStats> {
    const { a } = this;
    const services = await this.createServices(ns, UNSERVED_CLASS);
    const watch = watchIngress(a, ns, this.cfg.n);
    await watch.open;
    const from = await this.mark();
    const profiled = this.profile(ns);
    const index = new Map(this.names.map((name, i) => [name, i]));
    await pool(this.names, this.cfg.inFlight, async (name) => {
      const address = addressOf(index.get(name) ?? 0);
      const claimName = `${name}.service-lb`;
      const res = await must(
        a,
        'POST',
        `${IPAM}/v1beta2/namespaces/${ns}/ipaddressclaims`,
        {
          apiVersion: 'ipam.cluster.x-k8s.io/v1beta2',
          kind: 'IPAddressClaim',
          metadata: {
            name: claimName,
            labels: { [LABEL_SERVICE_LB_OF]: name },
            ownerReferences: [
              { apiVersion: 'v1', kind: 'Service', name, uid: services.get(name) ?? '', controller: true },
            ],
          },
          spec: { poolRef: { apiGroup: 'example.com', kind: 'Pool', name: 'x' } },
        },
        PROVIDER,
      );
      const created = (res.body as { metadata: { uid: string; resourceVersion: string } }).metadata;
      await bindClaim(a, ns, claimName, created, address, 'plain');
      const path = `${servicesPath(ns)}/${name}`;
      await must(
        a,
        'PATCH',
        path,
        {
          metadata: {
            annotations: { 'kube-vip.io/loadbalancerIPs': address },
            labels: { implementation: 'kube-vip' },
          },
        },
        MERGE_PATCH,
      );
      await must(
        a,
        'PATCH',
        `${path}/status`,
        { status: { loadBalancer: { ingress: [{ ip: address, ipMode: 'VIP' }] } } },
        MERGE_PATCH,
      );
    });
    await watch.done;
    const endedAt = performance.now();
    const to = await this.mark();
    await profiled;
    const stats = this.phase(from, to, endedAt, watch.events());
    await this.cleanUp(ns);
    return stats;
  }

  /** The provider: N Services created first, then the controller, started as in a pod, serves them. */
  async controllerPhase(ns: string, extraArgs: readonly string[]): Promise<ControllerStats> {
    const createStart = performance.now();
    await this.createServices(ns, LB_CLASS);
    const createSeconds = (performance.now() - createStart) / 1000;
    const watch = watchIngress(this.a, ns, this.cfg.n);
    const stats = await this.runController(ns, watch, extraArgs, this.cfg.nodeFlags);
    await this.cleanUp(ns);
    return { ...stats, createSeconds: Number(createSeconds.toFixed(2)) };
  }

  /** N Services of `loadBalancerClass` in `ns`, by the bench (their creator): name → uid. */
  private async createServices(ns: string, loadBalancerClass: string): Promise<Map<string, string>> {
    await this.namespace(ns);
    const uids = new Map<string, string>();
    await pool(this.names, this.cfg.inFlight, async (name) => {
      const res = await must(this.a, 'POST', servicesPath(ns), {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name },
        spec: {
          type: 'LoadBalancer',
          loadBalancerClass,
          // No node ports: the test control plane has no nodes, and kube-vip needs none.
          allocateLoadBalancerNodePorts: false,
          ports: [{ port: 80, protocol: 'TCP' }],
          selector: { app: name },
        },
      });
      uids.set(name, (res.body as { metadata: { uid: string } }).metadata.uid);
    });
    return uids;
  }

  /**
   * The Services go through the API, which frees their cluster IPs (taken from etcd, the API
   * server's allocator would hold them until its repair loop ran, in a later phase); the claims,
   * IPAddresses and Events straight from etcd, as the claims case does.
   */
  private async cleanUp(ns: string): Promise<void> {
    if (!this.cfg.clean) return;
    await pool(this.names, this.cfg.inFlight, async (name) => {
      await must(this.a, 'DELETE', `${servicesPath(ns)}/${name}`, undefined);
    });
    await this.clear(ns, SERVICE_PHASE_RESOURCES);
  }
}
