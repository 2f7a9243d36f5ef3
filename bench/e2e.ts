/**
 * End-to-end bench (`npm run bench:e2e`, N from BENCH_N, default 5000): N claims in one pool on a
 * local control plane, bound by the controller running as its own process (dist/main.js, with the
 * node flags the image's ENTRYPOINT gives it). In the same run, on the same control plane, a
 * baseline: a plain keep-alive HTTPS client doing exactly the writes a provider must do per claim
 * (finalizer patch, IPAddress create, status patch) for N other claims, 32 in flight.
 *
 * "Must" is Cluster API's IPAM contract: the IPAddress carries owner references to the claim
 * (controller, blockOwnerDeletion) and to the pool (blockOwnerDeletion) and the protecting
 * finalizer the Go provider writes; the status gets `addressRef`. What this provider writes beyond
 * that — the Ready condition (and Paused, on claims that were paused) — is its own cost and stays
 * on its side of the ratio.
 * The baseline writes under a user agent of its own, as a provider does: the claims' creator is
 * someone else, and each claim then carries the writer's managedFields entry beside the creator's.
 *
 * Rounds (BENCH_ROUNDS, default 3) alternate the phases, B C B C B …: each controller phase is
 * compared with the mean of the baselines either side of it, and the ratio printed is the median
 * of the rounds'. On this kind of machine a phase's time varies by ±15 % from run to run for the
 * same work (the API server's CPU per request does), so one pair of phases says little. Every phase
 * starts from the same store — its own N claims and the pool — because the bench removes a phase's
 * objects once it is measured (BENCH_CLEAN=0 keeps them). Prints one JSON line.
 *
 * BENCH_VARIANT_ARGS="--flag=x …" compares two ways of running the controller in one run: the even
 * rounds pass those extra flags (at least two rounds each; the machine's drift falls on both).
 * BENCH_VARIANT_NODE_FLAGS="--v8-flag …" does the same with the node flags the even rounds run with
 * (they replace the image's).
 *
 * The same comparison for LoadBalancer Services: bench/e2e-services.ts (`npm run bench:e2e:services`).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ControlPlane } from '../test/harness/control-plane.js';
import { Bench, type ClaimControllerStats as ControllerStats } from './e2e-phases.js';
import {
  alloc,
  baselineSummary,
  compareRound,
  controllerSummary,
  median,
  medianRound,
  ratioSummary,
  round2,
} from './e2e-report.js';
import type { PhaseStats } from './e2e-runner.js';
import { controllerNodeFlags } from './image-flags.js';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const N = Number(process.env.BENCH_N ?? 5000);
const IN_FLIGHT = 32;
const words = (v: string | undefined) => v?.split(' ').filter(Boolean);
const VARIANT_ARGS = words(process.env.BENCH_VARIANT_ARGS);
const VARIANT_NODE_FLAGS = words(process.env.BENCH_VARIANT_NODE_FLAGS);
const VARIANT =
  VARIANT_ARGS || VARIANT_NODE_FLAGS
    ? { args: VARIANT_ARGS ?? [], nodeFlags: VARIANT_NODE_FLAGS }
    : undefined;
const ROUNDS = Math.max(VARIANT ? 4 : 1, Number(process.env.BENCH_ROUNDS ?? 3));
const isVariant = (round: number) => VARIANT !== undefined && round % 2 === 0;

const nodeFlags = controllerNodeFlags(root);
/** The provider's own requests (apiRequestsPerClaim): not its Events. */
const ipamOrLeases = (k: string) => k.includes(' ipam.cluster.x-k8s.io/') || k.endsWith('/leases');

const cp = await ControlPlane.start({ crds: [join(root, 'crds'), join(root, 'test/crds/capi')] });
try {
  const bench = new Bench(cp, {
    n: N,
    inFlight: IN_FLIGHT,
    // The controller's default unless BENCH_CONCURRENCY says otherwise: figures at the flags a user runs.
    concurrency: process.env.BENCH_CONCURRENCY ? Number(process.env.BENCH_CONCURRENCY) : undefined,
    nodeFlags,
    // BENCH_CONTROLLER_LOG=<file> keeps the controller's info log (timestamps of its start-up).
    logFile: process.env.BENCH_CONTROLLER_LOG,
    pprofDir: process.env.BENCH_PPROF,
    clean: process.env.BENCH_CLEAN !== '0',
    root,
  });
  await bench.createPool();
  // With BENCH_CLEAN=0 every phase needs its own namespace; with cleaning they could share one.
  const baselines: PhaseStats[] = [await bench.writePhase('baseline-0', 'plain')];
  const controllers: ControllerStats[] = [];
  const mimics: PhaseStats[] = [];
  for (let r = 1; r <= ROUNDS; r++) {
    // BENCH_MIMIC=1: also a plain-client phase sending the controller's bodies (conditions,
    // optimistic lock) before each controller phase; what the controller costs beyond it is its own.
    if (process.env.BENCH_MIMIC) mimics.push(await bench.writePhase(`mimic-${r}`, 'controller'));
    const variant = isVariant(r) ? VARIANT : undefined;
    controllers.push(await bench.controllerPhase(`bench-${r}`, variant?.args ?? [], variant?.nodeFlags));
    baselines.push(await bench.writePhase(`baseline-${r}`, 'plain'));
  }
  const rounds = controllers.map((c, i) => {
    const before = baselines[i] as PhaseStats;
    const after = baselines[i + 1] as PhaseStats;
    return {
      ...(VARIANT ? { variant: isVariant(i + 1) } : {}),
      ...compareRound(c, before, after),
      ...(mimics[i]
        ? {
            mimic: mimics[i]?.seconds,
            mimicAllocRatio: round2(alloc(mimics[i] as PhaseStats) / ((alloc(before) + alloc(after)) / 2)),
          }
        : {}),
    };
  });
  // With a variant, the headline numbers are the plain controller's rounds; the variant's follow.
  // The round whose ratio is nearest the median is shown in full.
  const { at } = medianRound(rounds);
  process.stdout.write(
    `${JSON.stringify({
      case: `e2e-${N}`,
      claims: N,
      controllerConcurrency: process.env.BENCH_CONCURRENCY
        ? Number(process.env.BENCH_CONCURRENCY)
        : 'default',
      controllerNodeFlags: nodeFlags,
      ...controllerSummary(controllers[at] as ControllerStats, N, 'Claim', ipamOrLeases),
      baseline: { inFlight: IN_FLIGHT, ...baselineSummary(baselines[at] as PhaseStats, N, 'Claim') },
      baselineAfter: baselineSummary(baselines[at + 1] as PhaseStats, N, 'Claim'),
      ...(mimics[at] ? { mimic: baselineSummary(mimics[at] as PhaseStats, N, 'Claim') } : {}),
      rounds,
      ...ratioSummary(rounds),
      ...(VARIANT
        ? {
            variantArgs: VARIANT.args,
            ...(VARIANT.nodeFlags ? { variantNodeFlags: VARIANT.nodeFlags } : {}),
            variantRatio: round2(median(rounds.filter((r) => r.variant).map((r) => r.ratio))),
          }
        : {}),
    })}\n`,
  );
} finally {
  await cp.stop();
}
