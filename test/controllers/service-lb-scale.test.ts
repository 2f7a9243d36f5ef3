/**
 * A thousand LoadBalancer Services churned against the real API server with kube-controller-
 * manager's garbage collector, while Cluster API-style claims draw from the same pool and the
 * controller is restarted twice (a clean stop, then a hard one) in the middle of it. Once settled,
 * the etcd-backed truth must hold: no address held twice — now, or at any moment of the run (a
 * watch on etcd sees every IPAddress write) — every surviving Service carries exactly the address
 * of its own claim, no IPAddress without its claim, no claim of a deleted Service, and the pool's
 * status counting what the IPAddresses say. A quarter of the deletions are Orphan: the garbage
 * collector leaves those claims, so that only the controller's release can take them.
 *
 * The seed replays the client's choices, not the timing: a failure may need a few runs to recur.
 *
 *   SCALE_SERVICES=1000   Services made under fresh names (recreations come on top)
 *   SCALE_BATCH=50        Services made at once; deletions and recreations run beside each batch
 *   SCALE_SEED=<n>        replays a run's choices (the seed is printed, and named on failure)
 *   SCALE_LOG_FILE=<path> the controllers' log (TEST_LOG_LEVEL, default info)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlane } from '../harness/control-plane.js';
import { waitFor } from '../harness/wait.js';
import { AddressHistory } from '../soak/address-history.js';
import { checkSnapshot, FINDING_KINDS, fingerprint } from '../soak/checks.js';
import { createNamespace, createPool, startControlPlane } from './fixture.js';
import { CONDITION, LABEL_SERVICE_LB_OF, LB_CLASS, SERVICE_LB_POOL_LABEL } from './service-lb-fixture.js';
import {
  churnCapiClaims,
  createLoadBalancer,
  deleteService,
  type Propagation,
  pick,
  readScaleSnapshot,
  type ScaleController,
  type ScaleSnapshot,
  seededRandom,
  startScaleController,
} from './service-lb-scale-fixture.js';

function positive(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, not ${raw}`);
  return n;
}

const SERVICES = positive('SCALE_SERVICES', 1_000);
const BATCH = positive('SCALE_BATCH', 50);
const SEED = positive('SCALE_SEED', 1 + Math.floor(Math.random() * 2 ** 31));

const NS = 'lb-scale';
/** Machines' claims come in the Services' namespace and in one of their own. */
const CAPI_NS = 'capi-scale';
const POOL = 'lb-scale';
/** A /20 with its network and broadcast addresses reserved: room for every Service and machine at once. */
const POOL_CIDR = '10.120.0.0/20';
const POOL_SIZE = 4_094;
/** Every fourth Service names the pool by annotation; the others find it by its label. */
const POOL_BY_ANNOTATION = `GlobalInClusterIPPool/${POOL}`;
const QUIET_MS = 60_000;

describe('load-balancer addresses of a thousand Services', () => {
  let cp: ControlPlane;
  let ctl: ScaleController | undefined;
  let history: AddressHistory | undefined;

  beforeAll(async () => {
    cp = await startControlPlane();
    // From before the first IPAddress: every write of one is seen.
    history = await AddressHistory.start(cp.etcdUrl);
    await createNamespace(cp.access, NS);
    await createNamespace(cp.access, CAPI_NS);
    await createPool(
      cp.access,
      'GlobalInClusterIPPool',
      '',
      POOL,
      { addresses: [POOL_CIDR], prefix: 20 },
      { labels: { [SERVICE_LB_POOL_LABEL]: 'true' } },
    );
  });
  afterAll(async () => {
    await ctl?.stop(false);
    await history?.stop();
    await cp?.stop();
  });

  it('hands out no address twice and leaks none through churn, machines’ claims and two restarts', {
    timeout: 600_000,
  }, async () => {
    const random = seededRandom(SEED);
    const started = Date.now();
    /** Services that exist (name → uid), as this client made and deleted them. */
    const alive = new Map<string, string>();
    /** Deleted and not made again (yet): Background and Foreground deletions may be recreated. */
    const recreatable = new Set<string>();
    /** Deleted with Orphan: the garbage collector leaves their claims, only our release takes them. */
    const orphaned = new Set<string>();
    const made = { fresh: 0, recreated: 0, quickDeleted: 0 };
    const deleted: Record<Propagation, number> = { Background: 0, Foreground: 0, Orphan: 0 };

    const make = async (name: string): Promise<void> => {
      const annotated = Number(name.slice('svc-'.length)) % 4 === 0;
      const uid = await createLoadBalancer(
        cp.access,
        NS,
        name,
        LB_CLASS,
        annotated ? POOL_BY_ANNOTATION : undefined,
      );
      alive.set(name, uid);
      recreatable.delete(name);
    };
    const remove = async (name: string, policy: Propagation): Promise<void> => {
      alive.delete(name);
      await deleteService(cp.access, NS, name, policy);
      deleted[policy]++;
      if (policy === 'Orphan') orphaned.add(name);
      else recreatable.add(name);
    };
    const policyOf = (roll: number): Propagation =>
      roll < 0.25 ? 'Orphan' : roll < 0.4 ? 'Foreground' : 'Background';

    // Restarts run beside the churn: Services are made and deleted while no controller runs.
    const retired: { duplicates: number; released: number }[] = [];
    let restarting = Promise.resolve();
    const restart = (drain: boolean) => {
      restarting = restarting.then(async () => {
        const old = ctl;
        ctl = undefined;
        if (old) {
          await old.stop(drain);
          retired.push(await figuresOf(old));
        }
        ctl = await startScaleController(cp, LB_CLASS);
      });
    };

    ctl = await startScaleController(cp, LB_CLASS);
    let churning = true;
    const machines = churnCapiClaims(cp.access, {
      pool: { kind: 'GlobalInClusterIPPool', name: POOL },
      namespaces: [NS, CAPI_NS],
      maxAlive: 120,
      random: seededRandom(SEED ^ 0x5eed),
      done: () => !churning,
    });

    const batches = Math.ceil(SERVICES / BATCH);
    try {
      for (let b = 0; b < batches; b++) {
        if (b === Math.floor(batches * 0.35)) restart(true);
        if (b === Math.floor(batches * 0.7)) restart(false);
        const fresh = Array.from(
          { length: Math.min(BATCH, SERVICES - b * BATCH) },
          (_, k) => `svc-${b * BATCH + k}`,
        );
        // Picked before the batch runs, so that no name is worked on twice at once.
        const doomed = b >= 2 ? pick(random, alive.keys(), Math.round(BATCH * 0.45)) : [];
        const back = pick(random, recreatable, Math.round(BATCH * 0.1));
        const plans = [
          ...fresh.map((name) => ({ name, quickDelete: random() < 0.06 })),
          ...doomed.map((name) => ({ name, policy: policyOf(random()), recreateAtOnce: random() < 0.15 })),
        ];
        await Promise.all([
          ...plans.map(async (plan) => {
            if ('quickDelete' in plan) {
              await make(plan.name);
              made.fresh++;
              // Gone before the controller could finish: its claim may be made after the Service went.
              if (plan.quickDelete) {
                await remove(plan.name, 'Background');
                made.quickDeleted++;
              }
              return;
            }
            await remove(plan.name, plan.policy);
            // The same name at once: the earlier Service's claim may still be there.
            if (plan.recreateAtOnce && plan.policy !== 'Orphan') {
              await make(plan.name);
              made.recreated++;
            }
          }),
          ...back.map(async (name) => {
            await make(name);
            made.recreated++;
          }),
        ]);
      }
      await restarting;
    } finally {
      churning = false;
    }
    const claimFigures = await machines;
    const churnedMs = Date.now() - started;

    // Settled: every check holds on two snapshots in a row in which nothing moved. What is still
    // wrong after nothing moved for QUIET_MS stays wrong: all that could mend it acts sooner (the
    // controllers and the garbage collector on events, the longest retry of a refusal after 15 s).
    let problems: string[] = [];
    let previous = '';
    let lastChange = Date.now();
    const settled = await waitFor(
      'the Services, claims and IPAddresses to settle',
      async () => {
        const snapshot = await readScaleSnapshot(cp.access, NS);
        problems = problemsOf(snapshot, alive, claimFigures.alive);
        const print = `${fingerprint(snapshot)}|${snapshot.services.map((s) => s.metadata.resourceVersion).join(',')}`;
        const moved = print !== previous;
        previous = print;
        if (moved) lastChange = Date.now();
        if (moved) return undefined;
        return problems.length === 0 || Date.now() - lastChange > QUIET_MS ? snapshot : undefined;
      },
      { timeoutMs: 240_000, intervalMs: 1_000 },
    ).catch((err: Error) => {
      throw new Error(
        `${err.message}\nseed ${SEED}, ${problems.length} problems:\n${problems.slice(0, 25).join('\n')}`,
      );
    });
    expect(problems.slice(0, 25), `seed ${SEED}: ${problems.length} problems once settled`).toEqual([]);
    const settledMs = Date.now() - started - churnedMs;

    const live = ctl;
    if (!live) throw new Error('no controller running');
    const figures = [...retired, await figuresOf(live)];
    await history?.stop();
    const seen = history;
    history = undefined;

    const addresses = settled.addresses;
    const values = addresses.map((a) => a.spec.address);
    const report = {
      seed: SEED,
      services: { ...made, alive: alive.size, deleted },
      machines: { ...claimFigures, alive: claimFigures.alive.size },
      addresses: addresses.length,
      releasedByController: figures.reduce((n, f) => n + f.released, 0),
      addressWrites: seen?.events,
      churnedMs,
      settledMs,
    };
    process.stderr.write(`service-lb scale: ${JSON.stringify(report)}\n`);

    expect(made.fresh, `seed ${SEED}`).toBe(SERVICES);
    expect(deleted.Background + deleted.Foreground + deleted.Orphan).toBeGreaterThan(SERVICES / 4);
    expect(deleted.Orphan).toBeGreaterThan(0);
    expect(made.recreated).toBeGreaterThan(0);
    expect(claimFigures.created).toBeGreaterThan(50);
    // No address held twice, now: one IPAddress per live Service and machine, each its own address.
    expect(addresses).toHaveLength(alive.size + claimFigures.alive.size);
    expect(new Set(values).size, `seed ${SEED}`).toBe(values.length);
    // …nor at any moment of the run.
    expect(seen?.broken).toBeUndefined();
    expect(seen?.duplicates, `seed ${SEED}`).toEqual([]);
    expect(seen?.duplicateCount).toBe(0);
    expect(figures.map((f) => f.duplicates)).toEqual(figures.map(() => 0));
    // The claims of Services deleted with Orphan were not the garbage collector's to delete.
    const claimNames = new Set(settled.claims.map((c) => `${c.metadata.namespace}/${c.metadata.name}`));
    const orphanedLeft = [...orphaned].filter(
      (n) => !alive.has(n) && claimNames.has(`${NS}/${n}.service-lb`),
    );
    expect(orphanedLeft, `seed ${SEED}`).toEqual([]);
    const pool = settled.pools.find((p) => p.metadata.name === POOL);
    expect(pool?.status?.ipAddresses).toEqual({
      total: POOL_SIZE,
      used: addresses.length,
      free: POOL_SIZE - addresses.length,
      outOfRange: 0,
    });
  });
});

async function figuresOf(c: ScaleController): Promise<{ duplicates: number; released: number }> {
  const duplicates = (await c.metrics.duplicates.get()).values.reduce((n, v) => n + v.value, 0);
  const released =
    (await c.metrics.serviceLoadBalancers.get()).values.find((v) => v.labels.action === 'released')?.value ??
    0;
  return { duplicates, released };
}

/**
 * What is wrong in one snapshot, one sentence each: the soak's checks (leaks, duplicates, unbound
 * or not-ready claims, addresses out of range, objects stuck deleting, pool status), and for the
 * Services: each live one exactly the address of its own claim, no claim left of a deleted one,
 * no address on two Services, and one IPAddress per live Service and machine.
 */
function problemsOf(snapshot: ScaleSnapshot, alive: Map<string, string>, machines: Set<string>): string[] {
  const problems: string[] = [];
  const findings = checkSnapshot(snapshot);
  for (const kind of FINDING_KINDS) for (const f of findings[kind]) problems.push(`${kind}: ${f}`);
  const claims = new Map(snapshot.claims.map((c) => [`${c.metadata.namespace}/${c.metadata.name}`, c]));
  const addresses = new Map(snapshot.addresses.map((a) => [`${a.metadata.namespace}/${a.metadata.name}`, a]));
  const services = new Map(snapshot.services.map((s) => [s.metadata.name, s]));

  for (const [name, uid] of alive) {
    const svc = services.get(name);
    if (svc?.metadata.uid !== uid) {
      problems.push(`Service ${NS}/${name} (uid ${uid}) is missing, found ${svc?.metadata.uid ?? 'none'}`);
      continue;
    }
    const claimKey = `${NS}/${name}.service-lb`;
    const claim = claims.get(claimKey);
    const owner = (
      claim?.metadata.ownerReferences as { kind: string; uid: string; controller?: boolean }[] | undefined
    )?.find((r) => r.kind === 'Service');
    if (!claim || owner?.uid !== uid || !owner.controller) {
      problems.push(
        `Service ${NS}/${name}: claim ${claimKey} ${claim ? `owned by ${owner?.uid}` : 'missing'}`,
      );
      continue;
    }
    const ref = claim.status?.addressRef?.name;
    const address = ref ? addresses.get(`${NS}/${ref}`)?.spec.address : undefined;
    const ingress = svc.status?.loadBalancer?.ingress ?? [];
    const condition = svc.status?.conditions?.find((c) => c.type === CONDITION);
    if (address === undefined || ingress.length !== 1 || ingress[0]?.ip !== address)
      problems.push(
        `Service ${NS}/${name}: ingress ${JSON.stringify(ingress)}, its claim's address ${address ?? 'none'}`,
      );
    else if (condition?.status !== 'True')
      problems.push(`Service ${NS}/${name}: condition ${JSON.stringify(condition ?? null)}`);
  }
  for (const svc of snapshot.services)
    if (!alive.has(svc.metadata.name))
      problems.push(
        `Service ${NS}/${svc.metadata.name} should be gone${svc.metadata.deletionTimestamp ? ' (being deleted)' : ''}`,
      );

  for (const claim of snapshot.claims) {
    const of = (claim.metadata as { labels?: Record<string, string> }).labels?.[LABEL_SERVICE_LB_OF];
    if (of === undefined) continue;
    // The garbage collector strips the owner reference of a Service deleted with Orphan.
    const owner = claim.metadata.ownerReferences?.find((r) => r.kind === 'Service');
    const uid = alive.get(of);
    if (claim.metadata.namespace !== NS || uid === undefined || owner?.uid !== uid)
      problems.push(
        `claim ${claim.metadata.namespace}/${claim.metadata.name} of a deleted Service ${of} (owner uid ${owner?.uid ?? 'none'}) is left`,
      );
  }

  const holders = new Map<string, string>();
  for (const svc of snapshot.services)
    for (const { ip } of svc.status?.loadBalancer?.ingress ?? []) {
      if (ip === undefined) continue;
      const other = holders.get(ip);
      if (other) problems.push(`${ip} is on Service ${other} and Service ${svc.metadata.name}`);
      holders.set(ip, svc.metadata.name);
    }

  const machineClaims = snapshot.claims.filter((c) => c.metadata.name.startsWith('machine-'));
  if (machineClaims.length !== machines.size)
    problems.push(`${machineClaims.length} machines' claims, ${machines.size} expected`);
  if (snapshot.addresses.length !== alive.size + machines.size)
    problems.push(
      `${snapshot.addresses.length} IPAddresses for ${alive.size} Services and ${machines.size} machines`,
    );
  return problems;
}
