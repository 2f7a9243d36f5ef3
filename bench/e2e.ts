/**
 * End-to-end bench (`npm run bench:e2e`, N from BENCH_N, default 5000): N claims in one pool on a
 * local control plane, bound by the controller running as its own process (dist/main.js, as in a
 * pod). In the same run, on the same control plane, a baseline: a plain keep-alive HTTPS client
 * doing exactly the writes a provider must do per claim (finalizer patch, IPAddress create,
 * status patch) for N other claims, 32 in flight, before and again after the controller (the
 * reference is their mean). "Must" is Cluster API's IPAM contract: the IPAddress carries owner
 * references to the claim (controller, blockOwnerDeletion) and to the pool (blockOwnerDeletion)
 * and the protecting finalizer the Go provider writes; the status gets `addressRef`. What this
 * provider writes beyond that — the Ready and Paused conditions — is its own cost and stays on
 * its side of the ratio. Prints one JSON line.
 */
import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClusterAccess } from '../test/harness/access.js';
import { ControlPlane, freePort } from '../test/harness/control-plane.js';
import {
  cpuSeconds,
  diff,
  peakRssMB,
  perClaim,
  selfCpuSeconds,
  serverCounters,
  socketCount,
  sum,
  watchBound,
} from './e2e-stats.js';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const N = Number(process.env.BENCH_N ?? 5000);
const IN_FLIGHT = 32;
// Like for like: the controller may have as many claims in flight as the baseline has requests.
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? IN_FLIGHT);
const IPAM = '/apis/ipam.cluster.x-k8s.io';
const logFile = process.env.BENCH_CONTROLLER_LOG;
// Extra node flags for the controller process, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
const NODE_FLAGS = (process.env.BENCH_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);

async function pool<T>(items: T[], inFlight: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < items.length) {
        const item = items[next++] as T;
        await fn(item);
      }
    }),
  );
}

async function must(
  access: ClusterAccess,
  method: string,
  path: string,
  body: unknown,
  contentType?: string,
) {
  const res = await access.request(method, path, body, contentType ? { contentType } : {});
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${res.text.slice(0, 300)}`);
  return res;
}

/** The metadata the contract asks of an IPAddress: owned by the claim and the pool, protected. */
function controllerAddressMeta(name: string, claimUid: string) {
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

/** Server-side cost of a phase: requests and watch events served, API server and etcd CPU. */
interface PhaseMark {
  at: number;
  counters: Awaited<ReturnType<typeof serverCounters>>;
  apiserverCpu: number;
  etcdCpu: number;
  benchCpu: number;
}

const cp = await ControlPlane.start({ crds: [join(root, 'crds'), join(root, 'test/crds/capi')] });
try {
  const a = cp.access;
  const pids = cp.pids();
  const apiserverPid = pids['kube-apiserver'] ?? 0;
  const etcdPid = pids.etcd ?? 0;
  const mark = async (): Promise<PhaseMark> => ({
    counters: await serverCounters(a),
    apiserverCpu: cpuSeconds(apiserverPid),
    etcdCpu: cpuSeconds(etcdPid),
    benchCpu: selfCpuSeconds(),
    at: performance.now(),
  });
  const phase = (from: PhaseMark, to: PhaseMark, endedAt: number, watchEventsRead: number) => {
    const requests = diff(from.counters.requests, to.counters.requests);
    const watchEvents = diff(from.counters.watchEvents, to.counters.watchEvents);
    const busy = diff(from.counters.requestSeconds, to.counters.requestSeconds);
    const seconds = (endedAt - from.at) / 1000;
    // Mean server-side latency of the writes every provider makes, and by Little's law the mean
    // number of requests the server had in hand: a client that keeps it busy shows ≈ its in-flight.
    const latencyMs: Record<string, number> = {};
    for (const [k, v] of Object.entries(busy)) {
      const n = requests[k] ?? 0;
      if (n >= N / 2) latencyMs[k] = Number(((1000 * v) / n).toFixed(1));
    }
    return {
      serverInFlight: Number((sum(busy) / seconds).toFixed(1)),
      serverLatencyMs: latencyMs,
      seconds: Number(((endedAt - from.at) / 1000).toFixed(2)),
      requests,
      watchEventsSent: watchEvents,
      benchWatchEventsRead: watchEventsRead,
      apiserverCpuSeconds: Number((to.apiserverCpu - from.apiserverCpu).toFixed(2)),
      etcdCpuSeconds: Number((to.etcdCpu - from.etcdCpu).toFixed(2)),
      benchCpuSeconds: Number((to.benchCpu - from.benchCpu).toFixed(2)),
    };
  };

  for (const ns of ['bench', 'baseline', 'baseline-after', 'mimic'])
    await must(a, 'POST', '/api/v1/namespaces', { metadata: { name: ns } });
  await must(a, 'POST', `${IPAM}/v1alpha2/globalinclusterippools`, {
    apiVersion: 'ipam.cluster.x-k8s.io/v1alpha2',
    kind: 'GlobalInClusterIPPool',
    metadata: { name: 'bench' },
    spec: { addresses: ['10.128.0.0/16'], prefix: 16, gateway: '10.128.0.1' },
  });
  const names = Array.from({ length: N }, (_, i) => `claim-${i}`);

  // Baseline: claims of a pool kind nobody serves, then the provider's three writes per claim.
  // Style 'controller' (BENCH_MIMIC=1 adds such a phase) sends the bodies the controller sends —
  // optimistic-lock finalizer patch and conditions in the status — so a difference
  // between it and the controller is the controller's own doing.
  const writePhase = async (ns: string, style: 'plain' | 'controller') => {
    const claimUid = new Map<string, { uid: string; rv: string }>();
    await pool(names, IN_FLIGHT, async (name) => {
      const res = await must(
        a,
        'POST',
        `${IPAM}/v1beta2/namespaces/${ns}/ipaddressclaims`,
        claim(name, { apiGroup: 'example.com', kind: 'Pool', name: 'x' }),
      );
      const meta = (res.body as { metadata: { uid: string; resourceVersion: string } }).metadata;
      claimUid.set(name, { uid: meta.uid, rv: meta.resourceVersion });
    });
    // Both phases end when the same kind of watcher has seen every claim bound: the server's cost
    // of serving that watch and the bench's cost of reading it are paid on both sides.
    const watch = watchBound(a, ns, N);
    await watch.open;
    const from = await mark();
    const full = style === 'controller';
    await pool(names, IN_FLIGHT, async (name) => {
      const path = `${IPAM}/v1beta2/namespaces/${ns}/ipaddressclaims/${name}`;
      const { uid, rv } = claimUid.get(name) ?? { uid: '', rv: '' };
      const finalizers = ['ipam.cluster.x-k8s.io/ReleaseAddress'];
      await must(
        a,
        'PATCH',
        path,
        { metadata: full ? { finalizers, resourceVersion: rv } : { finalizers } },
        'application/merge-patch+json',
      );
      await must(a, 'POST', `${IPAM}/v1beta2/namespaces/${ns}/ipaddresses`, {
        apiVersion: 'ipam.cluster.x-k8s.io/v1beta2',
        kind: 'IPAddress',
        metadata: controllerAddressMeta(name, uid),
        spec: {
          address: '10.200.0.1',
          prefix: 16,
          gateway: '10.200.0.254',
          claimRef: { name },
          poolRef: { apiGroup: 'ipam.cluster.x-k8s.io', kind: 'GlobalInClusterIPPool', name: 'none' },
        },
      });
      const at = `${new Date().toISOString().slice(0, 19)}Z`;
      const conditions = [
        {
          type: 'Ready',
          status: 'True',
          reason: 'AddressAllocated',
          message: `Address 10.200.0.1 allocated from GlobalInClusterIPPool none`,
          lastTransitionTime: at,
          observedGeneration: 1,
        },
        {
          type: 'Paused',
          status: 'False',
          reason: 'NotPaused',
          message: '',
          lastTransitionTime: at,
          observedGeneration: 1,
        },
      ];
      await must(
        a,
        'PATCH',
        `${path}/status`,
        { status: full ? { conditions, addressRef: { name } } : { addressRef: { name } } },
        'application/merge-patch+json',
      );
    });
    await watch.done;
    const endedAt = performance.now();
    return phase(from, await mark(), endedAt, watch.events());
  };
  const baseline = await writePhase('baseline', 'plain');
  // BENCH_MIMIC=after runs it once the controller is done, to see whether a phase costs more for
  // coming later (a fuller store and watch cache) rather than for what it does.
  const mimicWhen = process.env.BENCH_MIMIC;
  // BENCH_MIMIC_STYLE=plain makes that phase a second plain baseline (what coming later costs).
  const mimicStyle = process.env.BENCH_MIMIC_STYLE === 'plain' ? 'plain' : 'controller';
  let mimic = mimicWhen && mimicWhen !== 'after' ? await writePhase('mimic', mimicStyle) : undefined;

  // The provider: N claims created first, then the controller binds them all.
  const createStart = performance.now();
  await pool(names, IN_FLIGHT, async (name) => {
    await must(
      a,
      'POST',
      `${IPAM}/v1beta2/namespaces/bench/ipaddressclaims`,
      claim(name, { apiGroup: 'ipam.cluster.x-k8s.io', kind: 'GlobalInClusterIPPool', name: 'bench' }),
    );
  });
  const createSeconds = (performance.now() - createStart) / 1000;

  const metricsPort = await freePort();
  const watch = watchBound(a, 'bench', N);
  await watch.open;
  const from = await mark();
  const controller = spawn(
    process.execPath,
    [
      ...NODE_FLAGS,
      join(root, 'dist/main.js'),
      `--kubeconfig=${cp.kubeconfigPath}`,
      '--webhook-port=0',
      '--health-probe-bind-address=127.0.0.1:0',
      `--diagnostics-address=127.0.0.1:${metricsPort}`,
      '--insecure-diagnostics',
      `--ipaddressclaim-concurrency=${CONCURRENCY}`,
    ],
    // BENCH_CONTROLLER_LOG=<file> keeps the controller's info log (timestamps of its start-up).
    {
      stdio: ['ignore', logFile === undefined ? 'ignore' : openSync(logFile, 'w'), 'inherit'],
      env: { ...process.env, LOG_LEVEL: logFile === undefined ? 'warn' : 'info' },
    },
  );
  const pid = controller.pid ?? 0;
  let controllerCpu = 0;
  let rss = 0;
  let sockets = 0;
  const sample = () => {
    try {
      controllerCpu = cpuSeconds(pid);
      rss = peakRssMB(pid);
      sockets = Math.max(sockets, socketCount(pid));
    } catch {}
  };
  const sampler = setInterval(sample, 200);
  await watch.done;
  const ended = performance.now();
  sample();
  clearInterval(sampler);
  const cpuAtBound = controllerCpu;
  const to = await mark();
  // Let coalesced status writes (and background events) land before counting what came after.
  await new Promise((r) => setTimeout(r, 1500));
  const settled = phase(from, await mark(), ended, watch.events());
  const provider = phase(from, to, ended, watch.events());
  const metricsText = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const reconciles: Record<string, number> = {};
  for (const m of metricsText.matchAll(
    /^controller_runtime_reconcile_total\{controller="ipaddressclaim",result="(\w+)"\} (\d+)/gm,
  )) {
    reconciles[m[1] ?? ''] = Number(m[2]);
  }
  const exited = new Promise((r) => controller.on('exit', r));
  controller.kill('SIGTERM');
  await exited;
  // A-B-A: the plain baseline again after the controller. A later phase works against a fuller
  // store (N=5000: 8-14 % slower for the same writes) and the machine's other load drifts, so the
  // mean of the two baselines is the reference at the controller's place in the run.
  // BENCH_BASELINE_AFTER=0 skips it (ratio is then against the first baseline alone).
  const after =
    process.env.BENCH_BASELINE_AFTER === '0' ? undefined : await writePhase('baseline-after', 'plain');
  if (mimicWhen === 'after') mimic = await writePhase('mimic', mimicStyle);
  const reference = after ? (baseline.seconds + after.seconds) / 2 : baseline.seconds;

  // Everything the server served in the phase is the controller's: the bench's own watch is counted
  // when it ends, after the phase, and /metrics is no resource request.
  const controllerRequests = settled.requests;
  const ipamOrLeases = (k: string) => k.includes(' ipam.cluster.x-k8s.io/') || k.endsWith('/leases');
  const statusWrites = settled.requests['PATCH ipam.cluster.x-k8s.io/globalinclusterippools/status'] ?? 0;
  const seconds = provider.seconds;
  process.stdout.write(
    `${JSON.stringify({
      case: `e2e-${N}`,
      claims: N,
      seconds,
      firstBoundSeconds: Number((((watch.firstBoundAt() ?? ended) - from.at) / 1000).toFixed(2)),
      claimsPerSec: Math.round(N / seconds),
      controllerConcurrency: CONCURRENCY,
      controllerNodeFlags: NODE_FLAGS,
      apiRequestsPerClaim: Number((sum(controllerRequests, ipamOrLeases) / N).toFixed(2)),
      allRequestsPerClaim: Number((sum(controllerRequests) / N).toFixed(2)),
      requestsPerClaim: perClaim(controllerRequests, N),
      watchEventsSentPerClaim: perClaim(settled.watchEventsSent, N, 5),
      benchWatchEventsRead: settled.benchWatchEventsRead,
      statusWritesPerPool: statusWrites,
      controllerCpuSeconds: cpuAtBound,
      controllerPeakRssMB: rss,
      controllerPeakSockets: sockets,
      apiserverCpuSeconds: provider.apiserverCpuSeconds,
      etcdCpuSeconds: provider.etcdCpuSeconds,
      benchCpuSeconds: provider.benchCpuSeconds,
      serverInFlight: provider.serverInFlight,
      serverLatencyMs: provider.serverLatencyMs,
      reconciles,
      createSeconds: Number(createSeconds.toFixed(2)),
      baseline: {
        seconds: baseline.seconds,
        claimsPerSec: Math.round(N / baseline.seconds),
        inFlight: IN_FLIGHT,
        requestsPerClaim: perClaim(baseline.requests, N),
        watchEventsSentPerClaim: perClaim(baseline.watchEventsSent, N, 5),
        apiserverCpuSeconds: baseline.apiserverCpuSeconds,
        etcdCpuSeconds: baseline.etcdCpuSeconds,
        benchCpuSeconds: baseline.benchCpuSeconds,
        serverInFlight: baseline.serverInFlight,
        serverLatencyMs: baseline.serverLatencyMs,
      },
      ...(mimic
        ? {
            mimic: {
              seconds: mimic.seconds,
              requestsPerClaim: perClaim(mimic.requests, N),
              apiserverCpuSeconds: mimic.apiserverCpuSeconds,
              etcdCpuSeconds: mimic.etcdCpuSeconds,
              benchCpuSeconds: mimic.benchCpuSeconds,
              serverInFlight: mimic.serverInFlight,
              serverLatencyMs: mimic.serverLatencyMs,
            },
            ratioToMimic: Number((seconds / mimic.seconds).toFixed(2)),
          }
        : {}),
      ...(after
        ? {
            baselineAfter: {
              seconds: after.seconds,
              apiserverCpuSeconds: after.apiserverCpuSeconds,
              etcdCpuSeconds: after.etcdCpuSeconds,
              benchCpuSeconds: after.benchCpuSeconds,
              serverLatencyMs: after.serverLatencyMs,
            },
            ratioFirstBaseline: Number((seconds / baseline.seconds).toFixed(2)),
          }
        : {}),
      ratio: Number((seconds / reference).toFixed(2)),
    })}\n`,
  );
} finally {
  await cp.stop();
}
