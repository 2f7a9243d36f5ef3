/**
 * End-to-end bench (`npm run bench:e2e`, N from BENCH_N, default 5000): N claims in one pool on a
 * local control plane, bound by the controller running as its own process (dist/main.js, as in a
 * pod). In the same run, on the same control plane, a baseline: a plain keep-alive HTTPS client
 * doing exactly the writes a provider must do per claim (finalizer patch, IPAddress create,
 * status patch) for N other claims, 32 in flight. Prints one JSON line.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClusterAccess } from '../test/harness/access.js';
import { ControlPlane, freePort } from '../test/harness/control-plane.js';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const N = Number(process.env.BENCH_N ?? 5000);
const IN_FLIGHT = 32;
// Like for like: the controller may have as many claims in flight as the baseline has requests.
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? IN_FLIGHT);
const IPAM = '/apis/ipam.cluster.x-k8s.io';

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

function claim(name: string, poolRef: Record<string, string>) {
  return {
    apiVersion: 'ipam.cluster.x-k8s.io/v1beta2',
    kind: 'IPAddressClaim',
    metadata: { name },
    spec: { poolRef },
  };
}

/** Counts requests the API server served, by a metric label filter, from its /metrics. */
async function requestCount(access: ClusterAccess, match: (labels: string) => boolean): Promise<number> {
  const res = await access.request('GET', '/metrics');
  let total = 0;
  for (const line of res.text.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const labels = line.slice(line.indexOf('{'), line.lastIndexOf('}') + 1);
    if (match(labels)) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

/** Resolves when `n` claims of the namespace carry status.addressRef, watching (not polling). */
function waitAllBound(access: ClusterAccess, ns: string, n: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const bound = new Set<string>();
    const url = new URL(`${IPAM}/v1beta2/namespaces/${ns}/ipaddressclaims?watch=1`, access.info.server);
    const req = httpsRequest(url, {
      ca: access.info.caPem,
      cert: access.info.clientCertPem,
      key: access.info.clientKeyPem,
    });
    req.on('response', (res) => {
      let buf = '';
      res.on('data', (chunk: Buffer) => {
        buf += chunk.toString('utf8');
        for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
          const ev = JSON.parse(buf.slice(0, nl)) as {
            object: { metadata: { name: string }; status?: { addressRef?: unknown } };
          };
          buf = buf.slice(nl + 1);
          if (ev.object.status?.addressRef) bound.add(ev.object.metadata.name);
          if (bound.size >= n) {
            req.destroy();
            resolve();
            return;
          }
        }
      });
      res.on('error', () => {});
    });
    req.on('error', (err) => (bound.size >= n ? undefined : reject(err)));
    req.end();
  });
}

function procStats(pid: number): { cpuSeconds: number; peakRssMB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpuSeconds: ticks / 100, peakRssMB: Math.round(Number(hwm?.[1] ?? 0) / 1024) };
}

const cp = await ControlPlane.start({ crds: [join(root, 'crds'), join(root, 'test/crds/capi')] });
try {
  const a = cp.access;
  for (const ns of ['bench', 'baseline'])
    await must(a, 'POST', '/api/v1/namespaces', { metadata: { name: ns } });
  await must(a, 'POST', `${IPAM}/v1alpha2/globalinclusterippools`, {
    apiVersion: 'ipam.cluster.x-k8s.io/v1alpha2',
    kind: 'GlobalInClusterIPPool',
    metadata: { name: 'bench' },
    spec: { addresses: ['10.128.0.0/16'], prefix: 16, gateway: '10.128.0.1' },
  });
  const names = Array.from({ length: N }, (_, i) => `claim-${i}`);

  // Baseline: claims of a pool kind nobody serves, then the provider's three writes per claim.
  await pool(names, IN_FLIGHT, async (name) => {
    await must(
      a,
      'POST',
      `${IPAM}/v1beta2/namespaces/baseline/ipaddressclaims`,
      claim(name, { apiGroup: 'example.com', kind: 'Pool', name: 'x' }),
    );
  });
  const baselineStart = performance.now();
  await pool(names, IN_FLIGHT, async (name) => {
    const path = `${IPAM}/v1beta2/namespaces/baseline/ipaddressclaims/${name}`;
    await must(
      a,
      'PATCH',
      path,
      { metadata: { finalizers: ['ipam.cluster.x-k8s.io/ReleaseAddress'] } },
      'application/merge-patch+json',
    );
    await must(a, 'POST', `${IPAM}/v1beta2/namespaces/baseline/ipaddresses`, {
      apiVersion: 'ipam.cluster.x-k8s.io/v1beta2',
      kind: 'IPAddress',
      metadata: { name },
      spec: {
        address: '10.200.0.1',
        prefix: 16,
        claimRef: { name },
        poolRef: { apiGroup: 'ipam.cluster.x-k8s.io', kind: 'GlobalInClusterIPPool', name: 'none' },
      },
    });
    await must(
      a,
      'PATCH',
      `${path}/status`,
      { status: { addressRef: { name } } },
      'application/merge-patch+json',
    );
  });
  const baselineSeconds = (performance.now() - baselineStart) / 1000;

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
  const ipamRequests = (l: string) =>
    l.includes('group="ipam.cluster.x-k8s.io"') || l.includes('resource="leases"');
  const statusWrites = (l: string) =>
    l.includes('resource="globalinclusterippools"') &&
    l.includes('subresource="status"') &&
    l.includes('verb="PATCH"');
  const [requestsBefore, statusBefore] = [
    await requestCount(a, ipamRequests),
    await requestCount(a, statusWrites),
  ];

  const metricsPort = await freePort();
  const bound = waitAllBound(a, 'bench', N);
  const started = performance.now();
  const controller = spawn(
    process.execPath,
    [
      join(root, 'dist/main.js'),
      `--kubeconfig=${cp.kubeconfigPath}`,
      '--webhook-port=0',
      '--health-probe-bind-address=127.0.0.1:0',
      `--diagnostics-address=127.0.0.1:${metricsPort}`,
      '--insecure-diagnostics',
      `--ipaddressclaim-concurrency=${CONCURRENCY}`,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, LOG_LEVEL: 'warn' } },
  );
  let peak = { cpuSeconds: 0, peakRssMB: 0 };
  const sampler = setInterval(() => {
    try {
      if (controller.pid) peak = procStats(controller.pid);
    } catch {}
  }, 200);
  await bound;
  const seconds = (performance.now() - started) / 1000;
  if (controller.pid) peak = procStats(controller.pid);
  clearInterval(sampler);
  // Let coalesced status writes land before counting them.
  await new Promise((r) => setTimeout(r, 1500));
  const [requestsAfter, statusAfter] = [
    await requestCount(a, ipamRequests),
    await requestCount(a, statusWrites),
  ];
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
  process.stdout.write(
    `${JSON.stringify({
      case: `e2e-${N}`,
      claims: N,
      seconds: Number(seconds.toFixed(2)),
      claimsPerSec: Math.round(N / seconds),
      controllerConcurrency: CONCURRENCY,
      apiRequestsPerClaim: Number(((requestsAfter - requestsBefore) / N).toFixed(2)),
      statusWritesPerPool: statusAfter - statusBefore,
      controllerCpuSeconds: peak.cpuSeconds,
      controllerPeakRssMB: peak.peakRssMB,
      reconciles,
      createSeconds: Number(createSeconds.toFixed(2)),
      baseline: {
        seconds: Number(baselineSeconds.toFixed(2)),
        claimsPerSec: Math.round(N / baselineSeconds),
        inFlight: IN_FLIGHT,
      },
      ratio: Number((seconds / baselineSeconds).toFixed(2)),
    })}\n`,
  );
} finally {
  await cp.stop();
}
