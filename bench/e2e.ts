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
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ControlPlane } from '../test/harness/control-plane.js';
import { Bench, type ControllerStats, type PhaseStats } from './e2e-phases.js';
import { perClaim, sum } from './e2e-stats.js';
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

const round2 = (x: number) => Number(x.toFixed(2));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

const alloc = (p: PhaseStats) => p.apiserverRuntime.allocMB ?? Number.NaN;

function baselineSummary(b: PhaseStats) {
  return {
    seconds: b.seconds,
    claimsPerSec: Math.round(N / b.seconds),
    requestsPerClaim: perClaim(b.requests, N),
    watchEventsSentPerClaim: perClaim(b.watchEventsSent, N, 5),
    apiserverCpuSeconds: b.apiserverCpuSeconds,
    etcdCpuSeconds: b.etcdCpuSeconds,
    benchCpuSeconds: b.benchCpuSeconds,
    serverInFlight: b.serverInFlight,
    serverLatencyMs: b.serverLatencyMs,
  };
}

/** The controller phase in full: what the issue asks to be printed, and what explains it. */
function controllerSummary(c: ControllerStats) {
  // Everything the server served in the phase is the controller's: the bench's own watch is
  // counted when it ends, after the phase, and /metrics is no resource request.
  const requests = c.settled.requests;
  const ipamOrLeases = (k: string) => k.includes(' ipam.cluster.x-k8s.io/') || k.endsWith('/leases');
  return {
    seconds: c.seconds,
    firstBoundSeconds: c.firstBoundSeconds,
    claimsPerSec: Math.round(N / c.seconds),
    apiRequestsPerClaim: Number((sum(requests, ipamOrLeases) / N).toFixed(2)),
    allRequestsPerClaim: Number((sum(requests) / N).toFixed(2)),
    requestsPerClaim: perClaim(requests, N),
    watchEventsSentPerClaim: perClaim(c.settled.watchEventsSent, N, 5),
    benchWatchEventsRead: c.settled.benchWatchEventsRead,
    statusWritesPerPool: requests['PATCH ipam.cluster.x-k8s.io/globalinclusterippools/status'] ?? 0,
    controllerCpuSeconds: c.controllerCpuSeconds,
    controllerThreadCpuSeconds: c.controllerThreadCpuSeconds,
    controllerPeakRssMB: c.controllerPeakRssMB,
    controllerPeakSockets: c.controllerPeakSockets,
    controllerSocketsSeen: c.controllerSocketsSeen,
    apiserverCpuSeconds: c.apiserverCpuSeconds,
    etcdCpuSeconds: c.etcdCpuSeconds,
    benchCpuSeconds: c.benchCpuSeconds,
    serverInFlight: c.serverInFlight,
    serverLatencyMs: c.serverLatencyMs,
    reconciles: c.reconciles,
    createSeconds: c.createSeconds,
  };
}

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
    const reference = (before.seconds + after.seconds) / 2;
    return {
      ...(VARIANT ? { variant: isVariant(i + 1) } : {}),
      seconds: c.seconds,
      baselineBefore: before.seconds,
      baselineAfter: after.seconds,
      ...(mimics[i] ? { mimic: mimics[i]?.seconds } : {}),
      controllerCpuSeconds: c.controllerCpuSeconds,
      controllerSocketsSeen: c.controllerSocketsSeen,
      apiserverCpuSeconds: c.apiserverCpuSeconds,
      baselineApiserverCpuSeconds: round2((before.apiserverCpuSeconds + after.apiserverCpuSeconds) / 2),
      stealSeconds: { before: before.stealSeconds, controller: c.stealSeconds, after: after.stealSeconds },
      // Go's own view of the API server: more bytes allocated is more work, not a slower machine.
      apiserverRuntime: {
        before: before.apiserverRuntime,
        controller: c.apiserverRuntime,
        after: after.apiserverRuntime,
      },
      // Every round's requests, not only the median's: a re-list or a retry shows up here.
      requests: Object.fromEntries(
        Object.entries(c.settled.requests).filter(
          ([k]) => /^(LIST|WATCH)|PUT|POST core/.test(k) || k.includes('status'),
        ),
      ),
      requestsTotal: sum(c.settled.requests),
      reconciles: c.reconciles,
      ratio: round2(c.seconds / reference),
      // The same comparison in work rather than time: what the API server allocated. It moves by
      // well under 1 % from phase to phase where the seconds move by ±15 %.
      allocRatio: round2(alloc(c) / ((alloc(before) + alloc(after)) / 2)),
      ...(mimics[i]
        ? { mimicAllocRatio: round2(alloc(mimics[i] as PhaseStats) / ((alloc(before) + alloc(after)) / 2)) }
        : {}),
    };
  });
  // With a variant, the headline numbers are the plain controller's rounds; the variant's follow.
  const plain = rounds.filter((r) => !r.variant);
  const ratio = median(plain.map((r) => r.ratio));
  // The round whose ratio is nearest the median is shown in full.
  let at = 0;
  rounds.forEach((r, i) => {
    if (r.variant) return;
    if (Math.abs(r.ratio - ratio) < Math.abs((rounds[at]?.ratio ?? 0) - ratio)) at = i;
  });
  process.stdout.write(
    `${JSON.stringify({
      case: `e2e-${N}`,
      claims: N,
      controllerConcurrency: process.env.BENCH_CONCURRENCY
        ? Number(process.env.BENCH_CONCURRENCY)
        : 'default',
      controllerNodeFlags: nodeFlags,
      ...controllerSummary(controllers[at] as ControllerStats),
      baseline: { inFlight: IN_FLIGHT, ...baselineSummary(baselines[at] as PhaseStats) },
      baselineAfter: baselineSummary(baselines[at + 1] as PhaseStats),
      ...(mimics[at] ? { mimic: baselineSummary(mimics[at] as PhaseStats) } : {}),
      rounds,
      ratioMin: Math.min(...plain.map((r) => r.ratio)),
      ratioMax: Math.max(...plain.map((r) => r.ratio)),
      ratio: round2(ratio),
      allocRatio: round2(median(plain.map((r) => r.allocRatio))),
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
