/**
 * How bench:e2e's cases report their rounds: each controller phase against the mean of the
 * baselines either side of it, in time and in what the API server allocated, and the round whose
 * ratio is the median's shown in full.
 */
import type { ControllerStats, PhaseStats } from './e2e-runner.js';
import { perClaim, sum } from './e2e-stats.js';

export const round2 = (x: number) => Number(x.toFixed(2));

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

export const alloc = (p: PhaseStats) => p.apiserverRuntime.allocMB ?? Number.NaN;

/** A baseline phase, per unit of work (`Claim`, `Service`). */
export function baselineSummary(b: PhaseStats, n: number, unit: string) {
  const lower = unit.toLowerCase();
  return {
    seconds: b.seconds,
    [`${lower}sPerSec`]: Math.round(n / b.seconds),
    [`requestsPer${unit}`]: perClaim(b.requests, n),
    [`watchEventsSentPer${unit}`]: perClaim(b.watchEventsSent, n, 5),
    apiserverCpuSeconds: b.apiserverCpuSeconds,
    etcdCpuSeconds: b.etcdCpuSeconds,
    benchCpuSeconds: b.benchCpuSeconds,
    serverInFlight: b.serverInFlight,
    serverLatencyMs: b.serverLatencyMs,
  };
}

/**
 * The controller phase in full: what the issue asks to be printed, and what explains it, per unit
 * of work (`Claim`, `Service`); `provider` picks the requests counted as its API work.
 */
export function controllerSummary(
  c: Omit<ControllerStats, 'reconciles'> & { reconciles: object },
  n: number,
  unit: string,
  provider: (request: string) => boolean,
) {
  // Everything the server served in the phase is the controller's: the bench's own watch is
  // counted when it ends, after the phase, and /metrics is no resource request.
  const requests = c.settled.requests;
  return {
    seconds: c.seconds,
    firstBoundSeconds: c.firstBoundSeconds,
    [`${unit.toLowerCase()}sPerSec`]: Math.round(n / c.seconds),
    [`apiRequestsPer${unit}`]: Number((sum(requests, provider) / n).toFixed(2)),
    [`allRequestsPer${unit}`]: Number((sum(requests) / n).toFixed(2)),
    [`requestsPer${unit}`]: perClaim(requests, n),
    [`watchEventsSentPer${unit}`]: perClaim(c.settled.watchEventsSent, n, 5),
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

/** The requests of a round worth printing for every round: a re-list or a retry shows up here. */
export const roundRequest = (k: string) => /^(LIST|WATCH)|PUT|POST core/.test(k) || k.includes('status');

/** One controller phase against the baselines before and after it. */
export function compareRound(
  c: Omit<ControllerStats, 'reconciles'> & { reconciles: object },
  before: PhaseStats,
  after: PhaseStats,
  shown: (request: string) => boolean = roundRequest,
) {
  const reference = (before.seconds + after.seconds) / 2;
  return {
    seconds: c.seconds,
    baselineBefore: before.seconds,
    baselineAfter: after.seconds,
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
    requests: Object.fromEntries(Object.entries(c.settled.requests).filter(([k]) => shown(k))),
    requestsTotal: sum(c.settled.requests),
    reconciles: c.reconciles,
    ratio: round2(c.seconds / reference),
    // The same comparison in work rather than time: what the API server allocated. It moves by
    // well under 1 % from phase to phase where the seconds move by ±15 %.
    allocRatio: round2(alloc(c) / ((alloc(before) + alloc(after)) / 2)),
  };
}

/** The median ratio of `rounds` (variants left out), and the index of the round nearest it. */
export function medianRound(rounds: { ratio: number; variant?: boolean }[]): { ratio: number; at: number } {
  const ratio = median(rounds.filter((r) => !r.variant).map((r) => r.ratio));
  let at = 0;
  rounds.forEach((r, i) => {
    if (r.variant) return;
    if (Math.abs(r.ratio - ratio) < Math.abs((rounds[at]?.ratio ?? 0) - ratio)) at = i;
  });
  return { ratio, at };
}

/** The headline: the rounds' ratios in time (median, least, most) and in work (median). */
export function ratioSummary(rounds: { ratio: number; allocRatio: number; variant?: boolean }[]) {
  const plain = rounds.filter((r) => !r.variant);
  return {
    ratioMin: Math.min(...plain.map((r) => r.ratio)),
    ratioMax: Math.max(...plain.map((r) => r.ratio)),
    ratio: round2(median(plain.map((r) => r.ratio))),
    allocRatio: round2(median(plain.map((r) => r.allocRatio))),
  };
}
