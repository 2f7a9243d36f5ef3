/**
 * End-to-end bench of Services (`npm run bench:e2e:services`, N from BENCH_SERVICES, default
 * 1000): N Services of `type: LoadBalancer` (class ipam.cluster.x-k8s.io/in-cluster, no node
 * ports) in one namespace on a local control plane, from created to `status.loadBalancer.ingress`
 * written, by the controller running as its own process (dist/main.js, the image's node flags, its
 * default flags plus only `--service-lb-class`). The Services exist before it starts, as the
 * claims case's claims do: the clock runs from its start (leader election and cache sync included;
 * firstBoundSeconds is the first Service with an ingress) to the last ingress the bench's watch
 * sees. In the same run, on the same control plane, a baseline: a plain keep-alive HTTPS client
 * doing exactly the writes a provider must do per Service for N other Services, 32 in flight.
 *
 * "Must", per Service, six writes, in the one order they can come in:
 * 1. The IPAddressClaim, created in the Service's namespace, named after it, owned by it
 *    (controller owner reference: the garbage collector then releases the address with the
 *    Service) and labelled `ipam.cluster.x-k8s.io/service-lb-of` (so `kubectl get ipaddressclaims
 *    -l` finds a Service's claim): the issue asks for both, and an address from the shared pools
 *    goes only through a claim. It names a pool kind nobody serves (no controller runs in a
 *    baseline phase, but BENCH_CLEAN=0 keeps it out of later ones).
 * 2–4. The claim flow's writes of Cluster API's IPAM contract, those of the claims case's
 *    baseline (bench/e2e.ts): the finalizer patch, the IPAddress with its owner references
 *    (claim: controller, blockOwnerDeletion; pool: blockOwnerDeletion) and protecting finalizer,
 *    the claim's status addressRef.
 * 5. The Service's metadata, one merge patch: annotation `kube-vip.io/loadbalancerIPs` and label
 *    `implementation: kube-vip`, what kube-vip reads to announce the address (as
 *    kube-vip-cloud-provider writes them).
 * 6. The Service's status, one merge patch: `status.loadBalancer.ingress: [{ip, ipMode: VIP}]`,
 *    the Service API's own answer (kubectl's EXTERNAL-IP), with the ipMode the issue asks for.
 * What this provider writes beyond that is its own cost and stays on its side of the ratio: the
 * claim's Ready condition (as in the claims case), the Service's condition
 * `ipam.cluster.x-k8s.io/LoadBalancerAddress` (a report riding in write 6, like Ready in write 4,
 * and a status write saying it waits for the claim, before the address), optimistic locks, Events,
 * the pool's status, leases, its lists and watches. The baseline takes each Service's uid from its
 * create answer, as the claims case takes the claims'; the controller learns it from its watch.
 * Its writes go under a user agent of its own (see PROVIDER in e2e-runner.ts).
 *
 * Rounds (BENCH_ROUNDS, default 3) alternate B C B C B …, each controller phase compared with the
 * mean of the baselines either side, the ratio printed the median of the rounds' (see e2e.ts for
 * why). Every phase starts from the same store: the pool and its own N Services; a measured
 * phase's Services are deleted through the API (their cluster IPs freed), its claims, IPAddresses
 * and Events from etcd (BENCH_CLEAN=0 keeps them). Prints one JSON line.
 * BENCH_CONTROLLER_ROOT=<dir> runs <dir>/dist/main.js instead of this tree's (a build of another
 * commit, say).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ControlPlane } from '../test/harness/control-plane.js';
import {
  baselineSummary,
  compareRound,
  controllerSummary,
  medianRound,
  ratioSummary,
  roundRequest,
} from './e2e-report.js';
import type { ControllerStats, PhaseStats } from './e2e-runner.js';
import { LB_CLASS, ServiceBench } from './e2e-service-phases.js';
import { controllerNodeFlags } from './image-flags.js';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const N = Number(process.env.BENCH_SERVICES ?? 1000);
const IN_FLIGHT = 32;
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const nodeFlags = controllerNodeFlags(root);
const controllerArgs = [`--service-lb-class=${LB_CLASS}`];

/** The provider's own requests (apiRequestsPerService): claims, addresses, pools, leases, Services; not Events. */
const providerRequest = (k: string) =>
  k.includes(' ipam.cluster.x-k8s.io/') || k.endsWith('/leases') || k.includes(' core/services');

const cp = await ControlPlane.start({ crds: [join(root, 'crds'), join(root, 'test/crds/capi')] });
try {
  const bench = new ServiceBench(cp, {
    n: N,
    inFlight: IN_FLIGHT,
    concurrency: undefined,
    nodeFlags,
    logFile: process.env.BENCH_CONTROLLER_LOG,
    pprofDir: process.env.BENCH_PPROF,
    clean: process.env.BENCH_CLEAN !== '0',
    root: process.env.BENCH_CONTROLLER_ROOT ?? root,
  });
  await bench.createPool();
  const baselines: PhaseStats[] = [await bench.writePhase('baseline-0')];
  const controllers: ControllerStats[] = [];
  for (let r = 1; r <= ROUNDS; r++) {
    controllers.push(await bench.controllerPhase(`bench-${r}`, controllerArgs));
    baselines.push(await bench.writePhase(`baseline-${r}`));
  }
  const rounds = controllers.map((c, i) =>
    compareRound(
      c,
      baselines[i] as PhaseStats,
      baselines[i + 1] as PhaseStats,
      (k) => roundRequest(k) || k.includes(' core/services'),
    ),
  );
  const { at } = medianRound(rounds);
  process.stdout.write(
    `${JSON.stringify({
      case: `e2e-services-${N}`,
      services: N,
      controllerArgs,
      controllerNodeFlags: nodeFlags,
      ...controllerSummary(controllers[at] as ControllerStats, N, 'Service', providerRequest),
      baseline: { inFlight: IN_FLIGHT, ...baselineSummary(baselines[at] as PhaseStats, N, 'Service') },
      baselineAfter: baselineSummary(baselines[at + 1] as PhaseStats, N, 'Service'),
      rounds,
      ...ratioSummary(rounds),
    })}\n`,
  );
} finally {
  await cp.stop();
}
