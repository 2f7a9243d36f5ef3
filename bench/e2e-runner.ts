/**
 * What every case of bench:e2e does around its own writes: a namespace a phase, marks of what the
 * server and the processes had done before and after, the controller started as in a pod and
 * sampled while it works, and the phase's objects removed once it is measured. The cases
 * (e2e-phases.ts: claims; e2e-service-phases.ts: Services) say what is created and written.
 */
import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterAccess, RequestOptions } from '../test/harness/access.js';
import { type ControlPlane, freePort } from '../test/harness/control-plane.js';
import {
  type BoundWatch,
  compactEtcd,
  cpuSeconds,
  deleteNamespaceObjects,
  diff,
  peakRssMB,
  profileApiServer,
  type ServerCounters,
  selfCpuSeconds,
  serverCounters,
  socketInodes,
  stealSeconds,
  sum,
  threadCpuSeconds,
} from './e2e-stats.js';

export const IPAM = '/apis/ipam.cluster.x-k8s.io';

/**
 * Who makes the baseline's writes. A provider is never the client that created the claims (CAPV,
 * a person, the bench), so its writes get a managedFields entry of their own on every claim, as the
 * controller's do. Sent as the bench's own user agent, they would merge into the creator's entry:
 * 8–9 % less work for the API server per claim, measured, that no provider can have.
 */
export const PROVIDER = { userAgent: 'baseline-provider' };
export const MERGE_PATCH = { ...PROVIDER, contentType: 'application/merge-patch+json' };

export interface BenchConfig {
  n: number;
  /** Requests the baseline keeps in flight. */
  inFlight: number;
  /** The controller's --ipaddressclaim-concurrency; undefined: its default. */
  concurrency: number | undefined;
  /** Extra node flags for the controller process. */
  nodeFlags: string[];
  /** Where the controller's info log goes (else to /dev/null). */
  logFile: string | undefined;
  /** Where API server CPU profiles go, one per phase (BENCH_PPROF). */
  pprofDir: string | undefined;
  /** Remove a phase's objects once it is measured (BENCH_CLEAN, default on). */
  clean: boolean;
  root: string;
}

export async function pool<T>(items: T[], inFlight: number, fn: (item: T) => Promise<void>): Promise<void> {
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

export async function must(
  access: ClusterAccess,
  method: string,
  path: string,
  body: unknown,
  opts: RequestOptions = {},
) {
  const res = await access.request(method, path, body, opts);
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${res.text.slice(0, 300)}`);
  return res;
}

/** What the server and the processes had done at one moment. */
export interface PhaseMark {
  at: number;
  counters: ServerCounters;
  apiserverCpu: number;
  etcdCpu: number;
  benchCpu: number;
  steal: number;
}

export type PhaseStats = ReturnType<PhaseRunner['phase']>;

export interface ControllerStats extends PhaseStats {
  /** The same counters 1.5 s later, once coalesced status writes and events have landed. */
  settled: PhaseStats;
  firstBoundSeconds: number;
  createSeconds: number;
  controllerCpuSeconds: number;
  controllerThreadCpuSeconds: Record<string, number>;
  controllerPeakRssMB: number;
  controllerPeakSockets: number;
  /** Distinct sockets seen in 200 ms samples: about the connections it opened. */
  controllerSocketsSeen: number;
  /** controller_runtime_reconcile_total by controller, then result. */
  reconciles: Record<string, Record<string, number>>;
}

/** A collection a phase leaves objects in: where etcd keeps them, and how the API server lists them. */
export interface PhaseResource {
  /** `/registry/<etcd>/<ns>/` in etcd. */
  etcd: string;
  /** The namespaced collection's path, for `/<list>?limit=1` (`{ns}` replaced). */
  list: string;
}

export class PhaseRunner {
  protected readonly a: ClusterAccess;
  private readonly namespaces = new Set<string>();

  constructor(
    protected readonly cp: ControlPlane,
    protected readonly cfg: BenchConfig,
  ) {
    this.a = cp.access;
  }

  protected async namespace(ns: string): Promise<void> {
    if (this.namespaces.has(ns)) return;
    await must(this.a, 'POST', '/api/v1/namespaces', { metadata: { name: ns } });
    this.namespaces.add(ns);
  }

  /**
   * Starts the controller as in a pod (its default flags but for the harness's and `extraArgs`),
   * samples it until `watch` is done, and stops it. The clock runs from its start.
   */
  protected async runController(
    ns: string,
    watch: BoundWatch,
    extraArgs: readonly string[],
    nodeFlags: readonly string[],
  ): Promise<Omit<ControllerStats, 'createSeconds'>> {
    const { cfg } = this;
    const metricsPort = await freePort();
    await watch.open;
    const from = await this.mark();
    const profiled = this.profile(ns);
    const controller = spawn(
      process.execPath,
      [
        ...nodeFlags,
        join(cfg.root, 'dist/main.js'),
        `--kubeconfig=${this.cp.kubeconfigPath}`,
        '--webhook-port=0',
        '--health-probe-bind-address=127.0.0.1:0',
        `--diagnostics-address=127.0.0.1:${metricsPort}`,
        '--insecure-diagnostics',
        // Unset: the controller's default, as a user runs it.
        ...(cfg.concurrency === undefined ? [] : [`--ipaddressclaim-concurrency=${cfg.concurrency}`]),
        ...extraArgs,
      ],
      {
        stdio: ['ignore', cfg.logFile === undefined ? 'ignore' : openSync(cfg.logFile, 'a'), 'inherit'],
        // The product as shipped: info, its default level (a line per allocation), to /dev/null.
        env: { ...process.env, LOG_LEVEL: 'info' },
      },
    );
    const pid = controller.pid ?? 0;
    let cpu = 0;
    let threads: Record<string, number> = {};
    let rss = 0;
    let sockets = 0;
    const socketsSeen = new Set<string>();
    const sample = () => {
      try {
        cpu = cpuSeconds(pid);
        threads = threadCpuSeconds(pid);
        rss = peakRssMB(pid);
        const open = socketInodes(pid);
        sockets = Math.max(sockets, open.length);
        for (const s of open) socketsSeen.add(s);
      } catch {}
    };
    const sampler = setInterval(sample, 200);
    await watch.done;
    const ended = performance.now();
    sample();
    clearInterval(sampler);
    const to = await this.mark();
    await profiled;
    // Let coalesced status writes (and background events) land before counting what came after.
    await new Promise((r) => setTimeout(r, 1500));
    const settled = this.phase(from, await this.mark(), ended, watch.events());
    const metricsText = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const reconciles: Record<string, Record<string, number>> = {};
    for (const m of metricsText.matchAll(
      /^controller_runtime_reconcile_total\{controller="(\w+)",result="(\w+)"\} (\d+)/gm,
    )) {
      const controllerName = m[1] ?? '';
      reconciles[controllerName] = { ...reconciles[controllerName], [m[2] ?? '']: Number(m[3]) };
    }
    const exited = new Promise((r) => controller.on('exit', r));
    controller.kill('SIGTERM');
    await exited;
    return {
      ...this.phase(from, to, ended, watch.events()),
      settled,
      firstBoundSeconds: Number((((watch.firstBoundAt() ?? ended) - from.at) / 1000).toFixed(2)),
      controllerCpuSeconds: cpu,
      controllerThreadCpuSeconds: threads,
      controllerPeakRssMB: rss,
      controllerPeakSockets: sockets,
      controllerSocketsSeen: socketsSeen.size,
      reconciles,
    };
  }

  /**
   * Each phase from the same store: a measured phase's objects are removed (see
   * deleteNamespaceObjects) once the API server has them, then etcd's history is compacted.
   */
  protected async clear(ns: string, resources: readonly PhaseResource[]): Promise<void> {
    if (!this.cfg.clean) return;
    const revision = await deleteNamespaceObjects(
      this.cp.etcdUrl,
      ns,
      resources.map((r) => r.etcd),
    );
    // The API server's cache learns of it from etcd's watch; wait until it has, then compact.
    for (const deadline = Date.now() + 60_000; ; ) {
      if (Date.now() > deadline) throw new Error(`the API server still lists ${ns}'s objects`);
      let left = 0;
      for (const r of resources) {
        const res = await must(this.a, 'GET', `${r.list.replace('{ns}', ns)}?limit=1`, undefined);
        left += (res.body as { items: unknown[] }).items.length;
      }
      if (left === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await compactEtcd(this.cp.etcdUrl, revision);
  }

  /** A 15 s profile of the API server, 3 s into a phase (BENCH_PPROF), or nothing. */
  protected profile(name: string): Promise<void> {
    const dir = this.cfg.pprofDir;
    if (!dir) return Promise.resolve();
    return new Promise((r) => setTimeout(r, 3000)).then(() =>
      profileApiServer(this.a, 15, join(dir, `${name}.pprof`)),
    );
  }

  protected async mark(): Promise<PhaseMark> {
    const pids = this.cp.pids();
    return {
      counters: await serverCounters(this.a),
      apiserverCpu: cpuSeconds(pids['kube-apiserver'] ?? 0),
      etcdCpu: cpuSeconds(pids.etcd ?? 0),
      benchCpu: selfCpuSeconds(),
      steal: stealSeconds(),
      at: performance.now(),
    };
  }

  phase(from: PhaseMark, to: PhaseMark, endedAt: number, watchEventsRead: number) {
    const requests = diff(from.counters.requests, to.counters.requests);
    const watchEvents = diff(from.counters.watchEvents, to.counters.watchEvents);
    const busy = diff(from.counters.requestSeconds, to.counters.requestSeconds);
    const runtime = diff(from.counters.runtime, to.counters.runtime);
    if (runtime.allocMB !== undefined) runtime.allocMB /= 2 ** 20;
    const seconds = (endedAt - from.at) / 1000;
    // Mean server-side latency of the writes every provider makes, and by Little's law the mean
    // number of requests the server had in hand: a client that keeps it busy shows ≈ its in-flight.
    const latencyMs: Record<string, number> = {};
    for (const [k, v] of Object.entries(busy)) {
      const n = requests[k] ?? 0;
      if (n >= this.cfg.n / 2) latencyMs[k] = Number(((1000 * v) / n).toFixed(1));
    }
    return {
      serverInFlight: Number((sum(busy) / seconds).toFixed(1)),
      serverLatencyMs: latencyMs,
      seconds: Number(seconds.toFixed(2)),
      requests,
      watchEventsSent: watchEvents,
      benchWatchEventsRead: watchEventsRead,
      apiserverCpuSeconds: Number((to.apiserverCpu - from.apiserverCpu).toFixed(2)),
      etcdCpuSeconds: Number((to.etcdCpu - from.etcdCpu).toFixed(2)),
      benchCpuSeconds: Number((to.benchCpu - from.benchCpu).toFixed(2)),
      stealSeconds: Number((to.steal - from.steal).toFixed(2)),
      apiserverRuntime: Object.fromEntries(
        Object.entries(runtime).map(([k, v]) => [k, Number(v.toFixed(1))]),
      ),
    };
  }
}
