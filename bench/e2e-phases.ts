/**
 * The phases bench/e2e.ts compares, each on the same control plane and from the same store (the
 * pool and the phase's own N claims): a plain client making the provider's writes, and the
 * controller as its own process binding N claims. e2e.ts decides their order and prints them.
 */
import type { ClusterAccess } from '../test/harness/access.js';
import {
  type ControllerStats,
  IPAM,
  MERGE_PATCH,
  must,
  type PhaseResource,
  PhaseRunner,
  type PhaseStats,
  PROVIDER,
  pool,
} from './e2e-runner.js';
import { watchBound } from './e2e-stats.js';

/** The controller phase of this case: its reconciles are the claim controller's, by result. */
export type ClaimControllerStats = Omit<ControllerStats, 'reconciles'> & {
  reconciles: Record<string, number>;
};

/** Where a phase leaves claims and IPAddresses, removed once it is measured. */
export const CLAIM_RESOURCES: readonly PhaseResource[] = ['ipaddressclaims', 'ipaddresses'].map((plural) => ({
  etcd: `ipam.cluster.x-k8s.io/${plural}`,
  list: `${IPAM}/v1beta2/namespaces/{ns}/${plural}`,
}));

/** The metadata the contract asks of an IPAddress: owned by the claim and the pool, protected. */
function contractAddressMeta(name: string, claimUid: string) {
  return {
    name,
    finalizers: ['ipam.cluster.x-k8s.io/ProtectAddress'],
    ownerReferences: [
      {
        apiVersion: 'ipam.cluster.x-k8s.io/v1beta2',
        kind: 'IPAddressClaim',
        name,
        uid: claimUid,
        controller: true,
        blockOwnerDeletion: true,
      },
      {
        apiVersion: 'ipam.cluster.x-k8s.io/v1alpha2',
        kind: 'GlobalInClusterIPPool',
        name: 'none',
        uid: claimUid,
        controller: false,
        blockOwnerDeletion: true,
      },
    ],
  };
}

function claim(name: string, poolRef: Record<string, string>) {
  return {
    apiVersion: 'ipam.cluster.x-k8s.io/v1beta2',
    kind: 'IPAddressClaim',
    metadata: { name },
    spec: { poolRef },
  };
}

/**
 * The claim flow's writes for one claim, as a provider must make them (style 'plain': finalizer
 * patch, IPAddress create with the contract's metadata, status addressRef), or with the bodies the
 * controller sends (style 'controller': optimistic lock, the Ready condition).
 */
export async function bindClaim(
  a: ClusterAccess,
  ns: string,
  name: string,
  created: { uid: string; resourceVersion: string },
  address: string,
  style: 'plain' | 'controller',
): Promise<void> {
  const path = `${IPAM}/v1beta2/namespaces/${ns}/ipaddressclaims/${name}`;
  const full = style === 'controller';
  const finalizers = ['ipam.cluster.x-k8s.io/ReleaseAddress'];
  const patched = await must(
    a,
    'PATCH',
    path,
    { metadata: full ? { finalizers, resourceVersion: created.resourceVersion } : { finalizers } },
    MERGE_PATCH,
  );
  const rvAfter = (patched.body as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
  await must(
    a,
    'POST',
    `${IPAM}/v1beta2/namespaces/${ns}/ipaddresses`,
    {
      apiVersion: 'ipam.cluster.x-k8s.io/v1beta2',
      kind: 'IPAddress',
      metadata: contractAddressMeta(name, created.uid),
      spec: {
        address,
        prefix: 16,
        gateway: '10.200.0.254',
        claimRef: { name },
        poolRef: { apiGroup: 'ipam.cluster.x-k8s.io', kind: 'GlobalInClusterIPPool', name: 'none' },
      },
    },
    PROVIDER,
  );
  const at = `${new Date().toISOString().slice(0, 19)}Z`;
  const conditions = [
    {
      type: 'Ready',
      status: 'True',
      reason: 'AddressAllocated',
      message: `Address ${address} allocated from GlobalInClusterIPPool none`,
      lastTransitionTime: at,
      observedGeneration: 1,
    },
  ];
  await must(
    a,
    'PATCH',
    `${path}/status`,
    full
      ? { metadata: { resourceVersion: rvAfter }, status: { conditions, addressRef: { name } } }
      : { status: { addressRef: { name } } },
    MERGE_PATCH,
  );
}

export class Bench extends PhaseRunner {
  private readonly names = Array.from({ length: this.cfg.n }, (_, i) => `claim-${i}`);

  async createPool(): Promise<void> {
    await must(this.a, 'POST', `${IPAM}/v1alpha2/globalinclusterippools`, {
      apiVersion: 'ipam.cluster.x-k8s.io/v1alpha2',
      kind: 'GlobalInClusterIPPool',
      metadata: { name: 'bench' },
      spec: { addresses: ['10.128.0.0/16'], prefix: 16, gateway: '10.128.0.1' },
    });
  }

  /**
   * Baseline: claims of a pool kind nobody serves, then the provider's three writes per claim.
   * Style 'controller' (BENCH_MIMIC) sends the bodies the controller sends — optimistic-lock
   * finalizer and status patches, the Ready condition in the status — so a difference between it
   * and the controller is the controller's own doing.
   */
  async writePhase(ns: string, style: 'plain' | 'controller'): Promise<PhaseStats> {
    const { a } = this;
    await this.namespace(ns);
    const claimUid = new Map<string, { uid: string; rv: string }>();
    await pool(this.names, this.cfg.inFlight, async (name) => {
      const res = await must(
        a,
        'POST',
        `${IPAM}/v1beta2/namespaces/${ns}/ipaddressclaims`,
        claim(name, { apiGroup: 'example.com', kind: 'Pool', name: 'x' }),
      );
      const meta = (res.body as { metadata: { uid: string; resourceVersion: string } }).metadata;
      claimUid.set(name, { uid: meta.uid, rv: meta.resourceVersion });
    });
    // Both kinds of phase end when the same kind of watcher has seen every claim bound: the
    // server's cost of serving that watch and the bench's cost of reading it fall on both sides.
    const watch = watchBound(a, ns, this.cfg.n);
    await watch.open;
    const from = await this.mark();
    const profiled = this.profile(ns);
    await pool(this.names, this.cfg.inFlight, async (name) => {
      const { uid, rv } = claimUid.get(name) ?? { uid: '', rv: '' };
      await bindClaim(a, ns, name, { uid, resourceVersion: rv }, '10.200.0.1', style);
    });
    await watch.done;
    const endedAt = performance.now();
    const to = await this.mark();
    await profiled;
    const stats = this.phase(from, to, endedAt, watch.events());
    await this.clear(ns, CLAIM_RESOURCES);
    return stats;
  }

  /** The provider: N claims created first, then the controller, started as in a pod, binds them. */
  async controllerPhase(
    ns: string,
    extraArgs: readonly string[] = [],
    nodeFlags: readonly string[] = this.cfg.nodeFlags,
  ): Promise<ClaimControllerStats> {
    const { a, cfg } = this;
    await this.namespace(ns);
    const createStart = performance.now();
    await pool(this.names, cfg.inFlight, async (name) => {
      await must(
        a,
        'POST',
        `${IPAM}/v1beta2/namespaces/${ns}/ipaddressclaims`,
        claim(name, { apiGroup: 'ipam.cluster.x-k8s.io', kind: 'GlobalInClusterIPPool', name: 'bench' }),
      );
    });
    const createSeconds = (performance.now() - createStart) / 1000;
    const stats = await this.runController(ns, watchBound(a, ns, cfg.n), extraArgs, nodeFlags);
    await this.clear(ns, CLAIM_RESOURCES);
    return {
      ...stats,
      createSeconds: Number(createSeconds.toFixed(2)),
      reconciles: stats.reconciles.ipaddressclaim ?? {},
    };
  }
}
