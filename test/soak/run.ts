/**
 * The soak: the controller as users run it (two replicas, leader election, a real control plane
 * with garbage collection), claims churning for `seconds` while the leader is killed -9, the API
 * server is killed -9 and a pool grows; then the churn stops, the system is given time to settle,
 * and what it left behind is checked (checks.ts). Everything it starts it stops, also on failure.
 */
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { ClusterAccess } from '../harness/access.js';
import { ControlPlane } from '../harness/control-plane.js';
import { waitFor } from '../harness/wait.js';
import { AddressHistory, type DuplicateSeen } from './address-history.js';
import {
  type Address,
  type Claim,
  checkSnapshot,
  FINDING_KINDS,
  type FindingKind,
  type Findings,
  fingerprint,
  IPAM_GROUP,
  isClean,
  type Pool,
  type PoolFigures,
  type PoolKind,
  type Snapshot,
} from './checks.js';
import { type ChurnFigures, churnClaims } from './churn.js';
import { type ReplicaExit, Replicas } from './replicas.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const crdPaths = [join(root, 'crds'), join(root, 'test/crds/capi')].filter(existsSync);

const NAMESPACES = ['soak-a', 'soak-b'] as const;
/** Both pools are called so: a claim's poolRef kind alone tells them apart. */
const POOL_NAME = 'soak';
/** 100 addresses for ~25–45 live claims: the global pool never runs out. */
const GLOBAL_POOL = { addresses: ['10.201.0.10-10.201.0.109'], prefix: 16, gateway: '10.201.0.1' };
/**
 * 8 addresses for ~8–15 live claims: the namespaced pool runs out until it grows (to 56), so claims
 * wait on an exhausted pool, are woken by releases, and are all bound by the growth.
 */
const NAMESPACED_POOL = { addresses: ['10.202.0.10-10.202.0.17'], prefix: 16, gateway: '10.202.0.1' };
const NAMESPACED_POOL_GROWTH = '10.202.1.10-10.202.1.57';

export interface SoakOptions {
  /** How long claims churn. */
  seconds: number;
  /** A fault every this many seconds, alternating: kill -9 the leader, kill -9 the API server. */
  faultIntervalSeconds?: number;
  /** How long to wait for the system to settle after the churn before judging it anyway. */
  settleSeconds?: number;
  replicas?: number;
  minAlive?: number;
  maxAlive?: number;
  /** The controllers' LOG_LEVEL. */
  logLevel?: string;
  /** Keep the replicas' logs: 'always', or 'onFailure' (the default). */
  keepLogs?: 'always' | 'onFailure' | 'never';
  /** Progress lines (stderr); the report is returned, not printed. */
  progress?: (line: string) => void;
}

export type FaultKind = 'leaderKill' | 'apiServerKill' | 'poolGrow';

export interface SoakReport {
  pass: boolean;
  /** One sentence per failed check; empty when it passed. */
  failures: string[];
  durationSeconds: number;
  totalSeconds: number;
  claims: ChurnFigures;
  faults: Record<FaultKind, number> & {
    skipped: number;
    apiServerDowntimeMs: number[];
  };
  replicaExits: Record<ReplicaExit['cause'], number>;
  /** The first 5 replica exits that were neither our kills nor a lost lease, with their logs' ends. */
  crashes: ReplicaExit[];
  settled: boolean;
  settleSeconds: number;
  /** The most IPAddresses without their claim seen in one snapshot while settling. */
  orphansSeenWhileSettling: number;
  final: {
    claims: number;
    addresses: number;
    pools: PoolFigures[];
  };
  leaks: number;
  duplicates: number;
  unbound: number;
  notReady: number;
  outOfRange: number;
  stuckDeleting: number;
  statusMismatches: number;
  /**
   * Moments, over the whole run, at which two IPAddresses of one pool held the same address (from
   * etcd's history of every IPAddress write): the soak's real duplicate check.
   */
  duplicatesEver: number;
  duplicatesEverSeen: DuplicateSeen[];
  /** IPAddress writes in that history. */
  addressWrites: number;
  /**
   * ipam_duplicate_addresses_total of the replicas running at the end: what the controller believed.
   * Not a check of its own; compare it with duplicatesEver.
   */
  duplicatesReportedByController: number;
  /** Up to 10 findings of each kind. */
  findings: Partial<Record<keyof Findings, string[]>>;
  logs?: string;
}

interface Fault {
  atMs: number;
  kind: FaultKind;
}

/** Faults from one interval in, alternating leader and API server, the pool growth halfway. */
export function faultSchedule(seconds: number, intervalSeconds: number): Fault[] {
  const faults: Fault[] = [];
  const interval = intervalSeconds * 1000;
  let n = 0;
  for (let at = interval; at <= seconds * 1000 - interval / 2; at += interval)
    faults.push({ atMs: at, kind: n++ % 2 === 0 ? 'leaderKill' : 'apiServerKill' });
  // Halfway between the two faults nearest the middle of the run.
  const growAt = (Math.max(0, Math.floor(seconds / 2 / intervalSeconds - 0.5)) + 0.5) * interval;
  faults.push({ atMs: Math.min(growAt, (seconds * 1000) / 2), kind: 'poolGrow' });
  return faults.sort((a, b) => a.atMs - b.atMs);
}

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const opts: Required<SoakOptions> = {
    faultIntervalSeconds: 20,
    settleSeconds: 90,
    replicas: 2,
    minAlive: 30,
    maxAlive: 60,
    logLevel: 'info',
    keepLogs: 'onFailure',
    progress: () => {},
    ...options,
  };
  const say = (line: string) => opts.progress(`[soak ${new Date().toISOString().slice(11, 19)}] ${line}`);
  const startedAt = Date.now();
  const logDir = mkdtempSync(join(tmpdir(), 'ipam-soak-'));
  let cp: ControlPlane | undefined;
  let replicas: Replicas | undefined;
  let access: ClusterAccess | undefined;
  let history: AddressHistory | undefined;
  let report: SoakReport | undefined;
  try {
    cp = await ControlPlane.start({ controllerManager: true, crds: crdPaths });
    access = new ClusterAccess(cp.info);
    say(`control plane at ${cp.info.server}; logs in ${logDir}`);
    await createPools(access);
    history = await AddressHistory.start(cp.etcdUrl);
    replicas = new Replicas({
      kubeconfig: cp.kubeconfigPath,
      logDir,
      count: opts.replicas,
      logLevel: opts.logLevel,
    });
    await replicas.start();
    if (!(await replicas.leader(90_000))) throw new Error('no replica took the lease within 90 s');
    say(`a replica leads; churning for ${opts.seconds} s`);

    const run = await churnWithFaults({ cp, access, replicas, say }, opts);
    say(`churn done: ${run.claims.created} created, ${run.claims.deleted} deleted; settling`);
    const settle = await settleAndCheck(access, run.churnEnd + opts.settleSeconds * 1000);
    const settleSeconds = (Date.now() - run.churnEnd) / 1000;
    const duplicatesReported = await replicas.sumOf('ipam_duplicate_addresses_total');
    await history.stop();
    report = judge(
      { ...run, settle, settleSeconds, history, exits: replicas.exits, duplicatesReported },
      opts,
    );
    // Every field of what failed (owner references, managedFields), beside the logs.
    if (!report.pass) writeFileSync(join(logDir, 'snapshot.json'), JSON.stringify(settle.snapshot, null, 1));
    return report;
  } finally {
    await replicas?.stop();
    await history?.stop();
    access?.close();
    const keep = opts.keepLogs === 'always' || (opts.keepLogs === 'onFailure' && report?.pass !== true);
    // The control plane's logs (the garbage collector's among them) go with its directory.
    if (cp && keep)
      for (const log of readdirSync(cp.dir).filter((f) => f.endsWith('.log')))
        copyFileSync(join(cp.dir, log), join(logDir, log));
    await cp?.stop();
    if (keep) {
      if (report) report.logs = logDir;
    } else {
      rmSync(logDir, { recursive: true, force: true });
    }
    if (report) report.totalSeconds = round((Date.now() - startedAt) / 1000);
  }
}

async function createPools(access: ClusterAccess): Promise<void> {
  for (const ns of NAMESPACES) await create(access, '/api/v1/namespaces', { metadata: { name: ns } });
  await create(access, poolsPath('GlobalInClusterIPPool'), pool('GlobalInClusterIPPool', GLOBAL_POOL));
  await create(
    access,
    poolsPath('InClusterIPPool', NAMESPACES[0]),
    pool('InClusterIPPool', NAMESPACED_POOL, NAMESPACES[0]),
  );
}

interface ChurnRun {
  claims: ChurnFigures;
  faults: SoakReport['faults'];
  churnStart: number;
  churnEnd: number;
}

/** The churn and the faults side by side; both end at the same deadline. */
async function churnWithFaults(
  ctx: Omit<FaultContext, 'faults'>,
  opts: Required<SoakOptions>,
): Promise<ChurnRun> {
  const churnStart = Date.now();
  const until = churnStart + opts.seconds * 1000;
  const faults = { leaderKill: 0, apiServerKill: 0, poolGrow: 0, skipped: 0, apiServerDowntimeMs: [] };
  const stopChurn = new AbortController();
  const churning = churnClaims(ctx.access, {
    globalPool: POOL_NAME,
    globalNamespaces: NAMESPACES,
    namespacedPool: { namespace: NAMESPACES[0], name: POOL_NAME },
    minAlive: opts.minAlive,
    maxAlive: opts.maxAlive,
    until,
    maxBatches: opts.seconds * 200,
    signal: stopChurn.signal,
  });
  try {
    const schedule = faultSchedule(opts.seconds, opts.faultIntervalSeconds);
    await injectFaults(schedule, churnStart, until, { ...ctx, faults });
  } catch (err) {
    // A fault that could not be injected or undone (the API server did not come back): stop.
    stopChurn.abort();
    await churning.catch(() => undefined);
    throw err;
  }
  const claims = await churning;
  return { claims, faults, churnStart, churnEnd: Date.now() };
}

interface Outcome extends ChurnRun {
  settle: Settled;
  settleSeconds: number;
  history: AddressHistory;
  exits: ReplicaExit[];
  duplicatesReported: number;
}

/** The report: each check that failed as one sentence, and the figures. */
function judge(o: Outcome, opts: Required<SoakOptions>): SoakReport {
  const { findings, snapshot } = o.settle;
  const crashes = o.exits.filter((e) => e.cause === 'crashed');
  const failures: string[] = [];
  for (const kind of FINDING_KINDS) {
    if (findings[kind].length > 0) failures.push(`${kind}: ${findings[kind].length} (${findings[kind][0]})`);
  }
  if (o.settle.stuck === 'deadline')
    failures.push(`did not settle within ${opts.settleSeconds} s of the churn's end`);
  else if (o.settle.stuck) failures.push(`did not settle: ${o.settle.stuck} while checks failed`);
  const [duplicate] = o.history.duplicates;
  if (duplicate)
    failures.push(
      `duplicatesEver: ${o.history.duplicateCount} (${duplicate.pool}: ${duplicate.address} held by ${duplicate.holders.join(' and ')} at etcd revision ${duplicate.revision})`,
    );
  if (o.history.broken)
    failures.push(
      `the etcd watch of IPAddresses broke (${o.history.broken}): duplicates during the run unchecked`,
    );
  if (crashes.length > 0)
    failures.push(`${crashes.length} replica(s) exited on their own other than by losing the lease`);
  const exitsBy = (cause: ReplicaExit['cause']) => o.exits.filter((e) => e.cause === cause).length;
  return {
    pass: failures.length === 0,
    failures,
    durationSeconds: round((o.churnEnd - o.churnStart) / 1000),
    totalSeconds: 0,
    claims: o.claims,
    faults: o.faults,
    replicaExits: { killed: exitsBy('killed'), leaseLost: exitsBy('leaseLost'), crashed: crashes.length },
    crashes: crashes.slice(0, 5),
    settled: o.settle.settled,
    settleSeconds: round(o.settleSeconds),
    orphansSeenWhileSettling: o.settle.orphansSeen,
    final: { claims: snapshot.claims.length, addresses: snapshot.addresses.length, pools: findings.pools },
    leaks: findings.leaks.length,
    duplicates: findings.duplicates.length,
    unbound: findings.unbound.length,
    notReady: findings.notReady.length,
    outOfRange: findings.outOfRange.length,
    stuckDeleting: findings.stuckDeleting.length,
    statusMismatches: findings.statusMismatches.length,
    duplicatesEver: o.history.duplicateCount,
    duplicatesEverSeen: o.history.duplicates.slice(0, 10),
    addressWrites: o.history.events,
    duplicatesReportedByController: o.duplicatesReported,
    findings: Object.fromEntries(
      FINDING_KINDS.filter((k) => findings[k].length > 0).map((k) => [k, findings[k].slice(0, 10)]),
    ),
  };
}

interface FaultContext {
  cp: ControlPlane;
  access: ClusterAccess;
  replicas: Replicas;
  faults: SoakReport['faults'];
  say: (line: string) => void;
}

async function injectFaults(
  schedule: Fault[],
  start: number,
  until: number,
  ctx: FaultContext,
): Promise<void> {
  for (const fault of schedule) {
    const wait = start + fault.atMs - Date.now();
    if (wait > 0) await sleep(wait);
    if (Date.now() >= until) return;
    switch (fault.kind) {
      case 'leaderKill':
        if (await ctx.replicas.killLeader(30_000)) {
          ctx.faults.leaderKill++;
          ctx.say('killed the leader (-9)');
        } else {
          ctx.faults.skipped++;
          ctx.say('no leader to kill within 30 s; skipped');
        }
        break;
      case 'apiServerKill': {
        const t0 = Date.now();
        await ctx.cp.restartApiServer('SIGKILL');
        ctx.faults.apiServerKill++;
        ctx.faults.apiServerDowntimeMs.push(Date.now() - t0);
        ctx.say(`killed the API server (-9); serving again after ${Date.now() - t0} ms`);
        break;
      }
      case 'poolGrow':
        await growNamespacedPool(ctx.access);
        ctx.faults.poolGrow++;
        ctx.say(`grew ${NAMESPACES[0]}/${POOL_NAME} by ${NAMESPACED_POOL_GROWTH}`);
        break;
    }
  }
}

async function growNamespacedPool(access: ClusterAccess): Promise<void> {
  const addresses = [...NAMESPACED_POOL.addresses, NAMESPACED_POOL_GROWTH];
  await waitFor(
    'the namespaced pool to grow',
    async () => {
      const res = await access.request(
        'PATCH',
        `${poolsPath('InClusterIPPool', NAMESPACES[0])}/${POOL_NAME}`,
        { spec: { addresses } },
        { contentType: 'application/merge-patch+json', timeoutMs: 10_000 },
      );
      return res.status === 200;
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
}

interface Settled {
  settled: boolean;
  /** Why it did not settle. */
  stuck?: string;
  findings: Findings;
  snapshot: Snapshot;
  orphansSeen: number;
}

/**
 * Leaks, duplicates and addresses outside their pool that have not moved for this long stay: what
 * would still remove them (the garbage collector, a release retried) acts within seconds. Judging
 * them then, not at the deadline, keeps a failing run a minute shorter. Unbound claims, pool status
 * and claims being deleted wait for the deadline: a claim that waited on an exhausted pool is
 * retried only after 60 s, and a failed status write after a growing backoff.
 */
const QUIET_MS = 30_000;
const STAYING: readonly FindingKind[] = ['leaks', 'duplicates', 'outOfRange'];

function onlyStaying(findings: Findings): boolean {
  return FINDING_KINDS.every((kind) => findings[kind].length === 0 || STAYING.includes(kind));
}

/**
 * Polls until every check holds on two snapshots in a row in which nothing moved (same objects,
 * same resourceVersions), or only findings that stay are left and nothing moved for QUIET_MS, or
 * the deadline passes; returns the last judgement either way.
 */
async function settleAndCheck(access: ClusterAccess, deadline: number): Promise<Settled> {
  let previous: string | undefined;
  let lastChange = Date.now();
  let orphansSeen = 0;
  for (;;) {
    let snapshot: Snapshot | undefined;
    try {
      snapshot = await readSnapshot(access);
    } catch {
      // The API server may still be coming back from the last fault.
    }
    if (snapshot) {
      const findings = checkSnapshot(snapshot);
      orphansSeen = Math.max(orphansSeen, findings.leaks.length);
      const print = fingerprint(snapshot);
      const clean = isClean(findings);
      if (print !== previous) lastChange = Date.now();
      if (clean && print === previous) return { settled: true, findings, snapshot, orphansSeen };
      if (onlyStaying(findings) && Date.now() - lastChange > QUIET_MS)
        return {
          settled: false,
          stuck: `nothing changed for ${QUIET_MS / 1000} s`,
          findings,
          snapshot,
          orphansSeen,
        };
      if (Date.now() > deadline)
        return { settled: false, stuck: 'deadline', findings, snapshot, orphansSeen };
      previous = print;
    } else if (Date.now() > deadline) {
      throw new Error('the API server did not answer while the soak settled');
    }
    await sleep(500);
  }
}

async function readSnapshot(access: ClusterAccess): Promise<Snapshot> {
  const list = async <T>(path: string): Promise<T[]> => {
    const res = await access.request<{ items: T[] }>('GET', path, undefined, { timeoutMs: 10_000 });
    if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${res.text}`);
    return res.body.items;
  };
  const claims = await list<Claim>(`/apis/${IPAM_GROUP}/v1beta2/ipaddressclaims`);
  const addresses = await list<Address>(`/apis/${IPAM_GROUP}/v1beta2/ipaddresses`);
  const pools = [
    ...(await list<Pool>(poolsPath('GlobalInClusterIPPool'))).map((p) => ({
      ...p,
      kind: 'GlobalInClusterIPPool' as const,
    })),
    ...(await list<Pool>(poolsPath('InClusterIPPool'))).map((p) => ({
      ...p,
      kind: 'InClusterIPPool' as const,
    })),
  ];
  return { claims, addresses, pools };
}

function poolsPath(kind: PoolKind, namespace?: string): string {
  const plural = `${kind.toLowerCase()}s`;
  return namespace
    ? `/apis/${IPAM_GROUP}/v1alpha2/namespaces/${namespace}/${plural}`
    : `/apis/${IPAM_GROUP}/v1alpha2/${plural}`;
}

function pool(kind: PoolKind, spec: object, namespace?: string): object {
  return {
    apiVersion: `${IPAM_GROUP}/v1alpha2`,
    kind,
    metadata: { name: POOL_NAME, ...(namespace ? { namespace } : {}) },
    spec,
  };
}

async function create(access: ClusterAccess, path: string, body: object): Promise<void> {
  const res = await access.request('POST', path, body);
  if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${res.text}`);
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
