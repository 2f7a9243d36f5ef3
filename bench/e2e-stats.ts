/**
 * What bench/e2e.ts measures besides wall-clock time: the API server's request and watch-event
 * counters, CPU seconds of any process from /proc, and a watcher that resolves once N claims are
 * bound. Kept apart so e2e.ts reads as the two phases it compares.
 */
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import type { ClusterAccess } from '../test/harness/access.js';

/** Counter values by a readable key, from one scrape of the API server's /metrics. */
export interface ServerCounters {
  /** `VERB group/resource[/subresource]` → requests served (resource requests only). */
  requests: Map<string, number>;
  /** `group/resource` → watch events the server sent to watchers. */
  watchEvents: Map<string, number>;
  /** Like requests: seconds the server spent answering them (long-running watches excluded). */
  requestSeconds: Map<string, number>;
  /** The Go runtime's counters of RUNTIME_COUNTERS, by our short names. */
  runtime: Map<string, number>;
}

function labelsOf(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  const body = line.slice(line.indexOf('{') + 1, line.lastIndexOf('}'));
  for (const m of body.matchAll(/(\w+)="([^"]*)"/g)) out[m[1] ?? ''] = m[2] ?? '';
  return out;
}

function add(map: Map<string, number>, key: string, n: number): void {
  map.set(key, (map.get(key) ?? 0) + n);
}

let dumps = 0;

/**
 * The API server's Go runtime, to tell more work (bytes allocated, goroutines made) from the same
 * work done slower (CPU per byte) when a phase's server CPU moves.
 */
const RUNTIME_COUNTERS: Record<string, string> = {
  go_gc_heap_allocs_bytes_total: 'allocMB',
  go_gc_cycles_total_gc_cycles_total: 'gcCycles',
  go_cpu_classes_gc_total_cpu_seconds_total: 'gcCpuSeconds',
  go_cpu_classes_user_cpu_seconds_total: 'userCpuSeconds',
  go_cpu_classes_idle_cpu_seconds_total: 'idleCpuSeconds',
  go_sched_goroutines_created_goroutines_total: 'goroutinesCreated',
};

export async function serverCounters(access: ClusterAccess): Promise<ServerCounters> {
  const res = await access.request('GET', '/metrics');
  // For digging: every scrape kept as a file, to diff counters the summary does not show.
  const dumpDir = process.env.BENCH_DUMP_METRICS;
  if (dumpDir) writeFileSync(`${dumpDir}/metrics-${dumps++}.txt`, res.text);
  const requests = new Map<string, number>();
  const watchEvents = new Map<string, number>();
  const requestSeconds = new Map<string, number>();
  const runtime = new Map<string, number>();
  const keyOf = (l: Record<string, string>) =>
    `${l.verb} ${l.group || 'core'}/${l.resource}${l.subresource ? `/${l.subresource}` : ''}`;
  for (const line of res.text.split('\n')) {
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (line.startsWith('apiserver_request_total{')) {
      const l = labelsOf(line);
      // Non-resource paths (/metrics, /readyz, discovery) are the harness's, not a provider's work.
      if (l.resource) add(requests, keyOf(l), value);
    } else if (line.startsWith('apiserver_request_duration_seconds_sum{')) {
      const l = labelsOf(line);
      if (l.resource && l.verb !== 'WATCH') add(requestSeconds, keyOf(l), value);
    } else if (line.startsWith('apiserver_watch_events_total{')) {
      const l = labelsOf(line);
      // Older servers label by kind, newer by resource; either names the collection.
      add(watchEvents, `${l.group || 'core'}/${l.resource || l.kind || '?'}`, value);
    } else {
      const name = RUNTIME_COUNTERS[line.slice(0, line.indexOf(' '))];
      if (name) runtime.set(name, value);
    }
  }
  return { requests, watchEvents, requestSeconds, runtime };
}

/** after − before, dropping keys that did not move. */
export function diff(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of [...after].sort(([a], [b]) => a.localeCompare(b))) {
    const d = v - (before.get(k) ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}

/** Per claim, 4 decimals; counts below `min` (the server's own housekeeping) are left out. */
export function perClaim(counts: Record<string, number>, n: number, min = 1): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(counts)) if (v >= min) out[k] = Number((v / n).toFixed(4));
  return out;
}

export function sum(counts: Record<string, number>, match: (key: string) => boolean = () => true): number {
  let total = 0;
  for (const [k, v] of Object.entries(counts)) if (match(k)) total += v;
  return total;
}

/** User + system CPU seconds of a process so far (clock ticks are 1/100 s on Linux). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export function peakRssMB(pid: number): number {
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Math.round(Number(hwm?.[1] ?? 0) / 1024);
}

/**
 * The socket inodes a process holds now. Sampled through a phase, their number of distinct values
 * is the connections it opened: a pool that keeps reconnecting costs the server TLS handshakes.
 */
export function socketInodes(pid: number): string[] {
  const out: string[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (link.startsWith('socket:')) out.push(link);
    } catch {}
  }
  return out;
}

/** CPU seconds of this process (the bench itself) so far. */
export function selfCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

export interface BoundWatch {
  /** Resolves when `n` distinct objects were seen done (for claims: with status.addressRef). */
  done: Promise<void>;
  /** Resolves once the server answered the watch, so a phase's clock never includes opening it. */
  open: Promise<void>;
  /** performance.now() when the first object was seen done (the controller's start-up ends there). */
  firstBoundAt(): number | undefined;
  /** Watch events this watcher received (the server also sent them: part of its cost). */
  events(): number;
}

/** Watches the claims of a namespace until `n` of them carry status.addressRef (see watchUntil). */
export function watchBound(access: ClusterAccess, ns: string, n: number): BoundWatch {
  return watchUntil(
    access,
    `/apis/ipam.cluster.x-k8s.io/v1beta2/namespaces/${ns}/ipaddressclaims`,
    n,
    '"addressRef"',
    (o) => !!(o as { status?: { addressRef?: unknown } }).status?.addressRef,
  );
}

/**
 * Watches a collection until `n` of its objects are `done`. Both phases run one, so the API
 * server's cost of serving it and the bench's cost of reading it fall on both sides alike. A line
 * is JSON-parsed only when it contains `marker` (what a done object must carry), which keeps the
 * bench's own CPU (it shares the machine with what it measures) small. The API server closes a
 * watcher that reads too slowly (a busy bench on a loaded machine): then it watches again from the
 * last resourceVersion seen, so no event is lost and the phase still ends.
 */
export function watchUntil(
  access: ClusterAccess,
  collectionPath: string,
  n: number,
  marker: string,
  isDone: (object: { status?: unknown }) => boolean,
): BoundWatch {
  let received = 0;
  let firstBound: number | undefined;
  let opened!: () => void;
  const open = new Promise<void>((resolve) => {
    opened = resolve;
  });
  const bound = new Set<string>();
  let lastRV: string | undefined;
  const done = new Promise<void>((resolve, reject) => {
    const connect = () => {
      const rv = lastRV ? `&resourceVersion=${lastRV}` : '';
      const url = new URL(`${collectionPath}?watch=1${rv}`, access.info.server);
      const req = httpsRequest(url, {
        ca: access.info.caPem,
        cert: access.info.clientCertPem,
        key: access.info.clientKeyPem,
      });
      req.on('response', (res) => {
        opened();
        let buf = '';
        res.on('data', (chunk: Buffer) => {
          buf += chunk.toString('utf8');
          for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            received++;
            // The object's own resourceVersion is the first in the line (metadata comes first).
            lastRV = /"resourceVersion":"(\d+)"/.exec(line)?.[1] ?? lastRV;
            if (!line.includes(marker)) continue;
            const ev = JSON.parse(line) as { object: { metadata: { name: string }; status?: unknown } };
            if (isDone(ev.object)) {
              firstBound ??= performance.now();
              bound.add(ev.object.metadata.name);
            }
            if (bound.size >= n) {
              req.destroy();
              resolve();
              return;
            }
          }
        });
        // Ended cleanly or reset: either way, watch again unless the phase is over.
        res.on('close', () => {
          if (bound.size < n) connect();
        });
        res.on('error', () => {});
      });
      req.on('error', (err) => (bound.size >= n ? undefined : reject(err)));
      req.end();
    };
    connect();
  });
  return { done, open, events: () => received, firstBoundAt: () => firstBound };
}

async function etcd(etcdUrl: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${etcdUrl}/v3/${path}`, { method: 'POST', body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`etcd ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}

/**
 * Removes a finished phase's claims and IPAddresses (or other `resources`) straight from etcd, so
 * that every phase starts from the same store: the pool and its own N claims. Without it a later phase works against the
 * earlier phases' objects, and the controller's start-up lists them all. Deleting through the API
 * would mean 4N writes (finalizers first); etcd's watch still tells the API server, whose cache
 * drops them. Returns the revision to compact to once the API server has seen the deletes
 * (compacting earlier loses their previous values, which its watch needs).
 */
export async function deleteNamespaceObjects(
  etcdUrl: string,
  ns: string,
  /** Where in etcd: `/registry/<this>/<ns>/` (core kinds have no group: `events`). */
  resources: readonly string[] = [
    'ipam.cluster.x-k8s.io/ipaddressclaims',
    'ipam.cluster.x-k8s.io/ipaddresses',
  ],
): Promise<string> {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  let revision = '';
  for (const resource of resources) {
    const prefix = `/registry/${resource}/${ns}/`;
    // range_end = the prefix with its last byte incremented: every key under the prefix.
    const end = `${prefix.slice(0, -1)}${String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1)}`;
    const res = await etcd(etcdUrl, 'kv/deleterange', { key: b64(prefix), range_end: b64(end) });
    revision = (res.header as { revision: string }).revision;
  }
  return revision;
}

/** Drops etcd's history up to `revision`: a later phase does not pay for earlier revisions. */
export async function compactEtcd(etcdUrl: string, revision: string): Promise<void> {
  await etcd(etcdUrl, 'kv/compaction', { revision, physical: true });
}

/**
 * BENCH_PPROF=<dir>: a CPU profile of kube-apiserver over `seconds` of a phase, for
 * `go tool pprof` — to see what the server does differently in one phase than in another.
 */
export function profileApiServer(access: ClusterAccess, seconds: number, file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const url = new URL(`/debug/pprof/profile?seconds=${seconds}`, access.info.server);
    const req = httpsRequest(url, {
      ca: access.info.caPem,
      cert: access.info.clientCertPem,
      key: access.info.clientKeyPem,
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        writeFileSync(file, Buffer.concat(chunks));
        resolve();
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** CPU seconds of a process by thread name (main thread, V8 workers, libuv pool, …). */
export function threadCpuSeconds(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).trim();
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const s = (Number(fields[11]) + Number(fields[12])) / 100;
      out[name] = Number(((out[name] ?? 0) + s).toFixed(2));
    } catch {}
  }
  return out;
}

/**
 * CPU seconds the hypervisor gave to someone else (steal, all CPUs) so far: on a shared VM a phase
 * can be slower for no doing of its own, and this shows when.
 */
export function stealSeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  return Number(line.trim().split(/\s+/)[8] ?? 0) / 100;
}
