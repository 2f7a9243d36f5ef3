/**
 * Memory bench (`npm run bench:memory`, N from BENCH_N, default 100000): the controller's RSS with
 * N IPAddresses (and, unless BENCH_CLAIMS=0, their N claims) in its caches, against the same
 * controller on an empty cluster and a bare `node` process, all in one run on one local control
 * plane. The objects are what a steady-state cluster holds after the controller bound every claim
 * — claim with finalizer, Ready condition and addressRef; IPAddress with finalizer and
 * owner references — so the controller starts, syncs, finds nothing to write, and is measured.
 * Prints one JSON line. The controller runs as in a pod (`node dist/main.js`, its own process);
 * RSS and peak RSS are VmRSS / VmHWM from /proc, heap figures from its own /metrics, sampled once
 * every claim was reconciled and it went quiet. It gets the node flags of the image's ENTRYPOINT
 * (BENCH_NODE_FLAGS replaces them);
 * BENCH_HEAP_SNAPSHOT=1 writes a heap snapshot of the loaded controller (the path is in the JSON).
 * BENCH_MAIN, a comma-separated list of controller entry points (default dist/main.js), measures
 * several builds against the same objects, one JSON line each: creating them takes the minutes.
 * An entry may carry node flags of its own after its path ("dist/main.js --optimize-for-size").
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FINALIZER_PROTECT_ADDRESS, FINALIZER_RELEASE_ADDRESS } from '../src/api/constants.js';
import type { ClusterAccess } from '../test/harness/access.js';
import { ControlPlane, freePort } from '../test/harness/control-plane.js';
import { controllerNodeFlags } from './image-flags.js';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const N = Number(process.env.BENCH_N ?? 100_000);
const WITH_CLAIMS = process.env.BENCH_CLAIMS !== '0';
const IN_FLIGHT = 32;
const IPAM = '/apis/ipam.cluster.x-k8s.io';
const NS = 'bench';
const POOL = 'bench';
const NODE_FLAGS = controllerNodeFlags(root);
const HEAP_SNAPSHOT = process.env.BENCH_HEAP_SNAPSHOT === '1';
const MAINS = (process.env.BENCH_MAIN ?? join(root, 'dist/main.js'))
  .split(',')
  .map((entry) => entry.trim().split(/\s+/))
  .filter(([path]) => Boolean(path))
  .map(([path, ...flags]) => ({ path: path as string, flags }));
// RSS settles a few seconds after the last burst of work (GC, freed buffers); sample after that.
const SETTLE_MS = 10_000;

const log = (msg: string) => process.stderr.write(`[bench:memory] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (v: number, digits = 1) => Number(v.toFixed(digits));

interface Mem {
  rssMB: number;
  peakRssMB: number;
}

function memOf(pid: number): Mem {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kB = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { rssMB: round(kB('VmRSS') / 1024), peakRssMB: round(kB('VmHWM') / 1024) };
}

async function must(
  access: ClusterAccess,
  method: string,
  path: string,
  body?: unknown,
  contentType?: string,
) {
  const res = await access.request<Record<string, unknown>>(
    method,
    path,
    body,
    contentType ? { contentType } : {},
  );
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${res.text.slice(0, 300)}`);
  return res.body;
}

async function pool(n: number, inFlight: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let done = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < n) {
        await fn(next++);
        if (++done % 10_000 === 0) log(`${done}/${n} after ${round((performance.now() - started) / 1000)} s`);
      }
    }),
  );
}

/** Waits for a command's exit; the bench is useless if the build or a child fails. */
function run(cmd: string, args: string[]): void {
  const res = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (res.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${res.status}`);
}

interface Controller {
  process: ChildProcess;
  pid: number;
  metricsPort: number;
  readySeconds: number;
  stop(): Promise<void>;
}

async function startController(
  main: { path: string; flags: string[] },
  kubeconfig: string,
  heapDir?: string,
): Promise<Controller> {
  // Ports of our choosing rather than :0, so the bench knows where to poll /readyz and /metrics.
  const [healthPort, metricsPort] = [await freePort(), await freePort()];
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [
      ...NODE_FLAGS,
      ...main.flags,
      ...(heapDir ? [`--diagnostic-dir=${heapDir}`, '--heapsnapshot-signal=SIGUSR2'] : []),
      main.path,
      `--kubeconfig=${kubeconfig}`,
      '--leader-elect=false',
      '--webhook-port=0',
      `--health-probe-bind-address=127.0.0.1:${healthPort}`,
      `--diagnostics-address=127.0.0.1:${metricsPort}`,
      '--insecure-diagnostics',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, LOG_LEVEL: 'warn' } },
  );
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const pid = child.pid;
  if (!pid) throw new Error('the controller did not start');
  for (;;) {
    const code = await Promise.race([exited, sleep(100).then(() => 'running' as const)]);
    if (code !== 'running') throw new Error(`the controller exited (${code}) before it was ready`);
    const ok = await fetch(`http://127.0.0.1:${healthPort}/readyz`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) break;
  }
  return {
    process: child,
    pid,
    metricsPort,
    readySeconds: round((performance.now() - started) / 1000, 2),
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`))
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** After the caches synced every claim is reconciled once; memory is measured when that is done. */
async function settle(c: Controller, claims: number): Promise<void> {
  const deadline = Date.now() + 30 * 60_000;
  while ((await metric(c.metricsPort, 'controller_runtime_reconcile_total')) < claims) {
    if (Date.now() > deadline) throw new Error('the controller did not reconcile every claim in 30 minutes');
    await sleep(1000);
  }
  await sleep(SETTLE_MS);
}

interface Measured extends Mem {
  heapUsedMB: number;
  heapTotalMB: number;
  externalMB: number;
}

async function measure(c: Controller): Promise<Measured> {
  const mem = memOf(c.pid);
  const mb = async (name: string) => round((await metric(c.metricsPort, name)) / 2 ** 20);
  return {
    ...mem,
    heapUsedMB: await mb('nodejs_heap_size_used_bytes'),
    heapTotalMB: await mb('nodejs_heap_size_total_bytes'),
    externalMB: await mb('nodejs_external_memory_bytes'),
  };
}

/** The snapshot file appears at once and grows for seconds; it is complete when its size stops changing. */
async function snapshotWritten(dir: string): Promise<string> {
  let last = -1;
  for (let t = 0; t < 300; t++) {
    await sleep(2000);
    const f = readdirSync(dir).find((x) => x.endsWith('.heapsnapshot'));
    if (!f) continue;
    const size = statSync(join(dir, f)).size;
    if (size > 0 && size === last) {
      const kept = join(tmpdir(), f);
      copyFileSync(join(dir, f), kept);
      return kept;
    }
    last = size;
  }
  throw new Error('no heap snapshot after 10 minutes');
}

/** Writes requests the API server has served for our kinds (to show the loaded controller writes nothing). */
async function ipamWrites(access: ClusterAccess): Promise<number> {
  const res = await access.request('GET', '/metrics');
  let sum = 0;
  for (const line of res.text.split('\n')) {
    if (!line.startsWith('apiserver_request_total{') || !line.includes('group="ipam.cluster.x-k8s.io"'))
      continue;
    if (!/verb="(POST|PUT|PATCH|DELETE|APPLY)"/.test(line)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

// A bare node process: what any Node program costs before it loads anything.
const bare = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
await sleep(2000);
const bareNodeRssMB = bare.pid ? memOf(bare.pid).rssMB : 0;
bare.kill();

log('building');
run('npm', ['run', '--silent', 'build']);
log('starting the control plane');
const cp = await ControlPlane.start({ crds: [join(root, 'crds'), join(root, 'test/crds/capi')] });
const controllers: Controller[] = [];
try {
  const a = cp.access;
  await must(a, 'POST', '/api/v1/namespaces', { metadata: { name: NS } });

  // Idle: the same controller, nothing to cache.
  const idleMem: Measured[] = [];
  for (const main of MAINS) {
    const idle = await startController(main, cp.kubeconfigPath);
    controllers.push(idle);
    await sleep(SETTLE_MS);
    idleMem.push(await measure(idle));
    await idle.stop();
    log(`idle ${main.path} ${main.flags.join(' ')}: ${JSON.stringify(idleMem.at(-1))}`);
  }

  const createdPool = await must(a, 'POST', `${IPAM}/v1alpha2/globalinclusterippools`, {
    apiVersion: 'ipam.cluster.x-k8s.io/v1alpha2',
    kind: 'GlobalInClusterIPPool',
    metadata: { name: POOL },
    spec: { addresses: ['10.0.0.0/8'], prefix: 8 },
  });
  const poolUid = (createdPool.metadata as { uid: string }).uid;
  const claimApi = `${IPAM}/v1beta2/namespaces/${NS}/ipaddressclaims`;
  const addressApi = `${IPAM}/v1beta2/namespaces/${NS}/ipaddresses`;
  const poolRef = { apiGroup: 'ipam.cluster.x-k8s.io', kind: 'GlobalInClusterIPPool', name: POOL };

  log(`creating ${N} IPAddresses${WITH_CLAIMS ? ' and their claims' : ''}, ${IN_FLIGHT} in flight`);
  const createStart = performance.now();
  await pool(N, IN_FLIGHT, async (i) => {
    const name = `m-${i}`;
    // 10.0.1.0 on: clear of the network address, never near the broadcast one.
    const n = 256 + i;
    const address = `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
    const ownerReferences = [
      {
        apiVersion: 'ipam.cluster.x-k8s.io/v1alpha2',
        kind: 'GlobalInClusterIPPool',
        name: POOL,
        uid: poolUid,
        controller: false,
        blockOwnerDeletion: true,
      },
    ];
    if (WITH_CLAIMS) {
      const claim = await must(a, 'POST', claimApi, {
        apiVersion: 'ipam.cluster.x-k8s.io/v1beta2',
        kind: 'IPAddressClaim',
        metadata: { name, finalizers: [FINALIZER_RELEASE_ADDRESS] },
        spec: { poolRef },
      });
      const meta = claim.metadata as { uid: string; generation: number };
      const now = `${new Date().toISOString().slice(0, 19)}Z`;
      // Exactly what the controller writes, so that it finds nothing to change.
      await must(
        a,
        'PATCH',
        `${claimApi}/${name}/status`,
        {
          status: {
            addressRef: { name },
            conditions: [
              {
                type: 'Ready',
                status: 'True',
                reason: 'AddressAllocated',
                message: `Address ${address} allocated from GlobalInClusterIPPool ${POOL}`,
                lastTransitionTime: now,
                observedGeneration: meta.generation,
              },
            ],
          },
        },
        'application/merge-patch+json',
      );
      ownerReferences.unshift({
        apiVersion: 'ipam.cluster.x-k8s.io/v1beta2',
        kind: 'IPAddressClaim',
        name,
        uid: meta.uid,
        controller: true,
        blockOwnerDeletion: true,
      });
    }
    await must(a, 'POST', addressApi, {
      apiVersion: 'ipam.cluster.x-k8s.io/v1beta2',
      kind: 'IPAddress',
      metadata: { name, finalizers: [FINALIZER_PROTECT_ADDRESS], ownerReferences },
      spec: { address, prefix: 8, claimRef: { name }, poolRef },
    });
  });
  const createSeconds = round((performance.now() - createStart) / 1000);
  log(`created in ${createSeconds} s`);

  for (const [i, main] of MAINS.entries()) {
    const heapDir = HEAP_SNAPSHOT ? join(cp.dir, `heap-${i}`) : undefined;
    if (heapDir) mkdirSync(heapDir);
    const writesBefore = await ipamWrites(a);
    const loaded = await startController(main, cp.kubeconfigPath, heapDir);
    controllers.push(loaded);
    log(`${main.path} ${main.flags.join(' ')}: loaded controller ready after ${loaded.readySeconds} s`);
    await settle(loaded, WITH_CLAIMS ? N : 0);
    const loadedMem = await measure(loaded);
    const writesByController = (await ipamWrites(a)) - writesBefore;
    let heapSnapshot: string | undefined;
    if (heapDir) {
      loaded.process.kill('SIGUSR2');
      heapSnapshot = await snapshotWritten(heapDir);
    }
    await loaded.stop();
    const idle = idleMem[i] as Measured;
    process.stdout.write(
      `${JSON.stringify({
        case: `memory-${N}`,
        main: main.path,
        nodeFlags: [...NODE_FLAGS, ...main.flags],
        ipAddresses: N,
        claims: WITH_CLAIMS ? N : 0,
        rssMB: loadedMem.rssMB,
        peakRssMB: loadedMem.peakRssMB,
        heapUsedMB: loadedMem.heapUsedMB,
        heapTotalMB: loadedMem.heapTotalMB,
        externalMB: loadedMem.externalMB,
        idleRssMB: idle.rssMB,
        idlePeakRssMB: idle.peakRssMB,
        idleHeapUsedMB: idle.heapUsedMB,
        bareNodeRssMB,
        readySeconds: loaded.readySeconds,
        createSeconds,
        createRequestsPerSec: Math.round((N * (WITH_CLAIMS ? 3 : 1)) / createSeconds),
        ipamWritesByLoadedController: writesByController,
        targetRssMB: 200,
        ...(heapSnapshot ? { heapSnapshot } : {}),
      })}\n`,
    );
  }
} finally {
  for (const c of controllers) if (c.process.exitCode === null) await c.stop().catch(() => {});
  await cp.stop();
}
