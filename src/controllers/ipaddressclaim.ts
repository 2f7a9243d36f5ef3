/**
 * The claim reconciler: turns an IPAddressClaim into an IPAddress of its pool and releases it when
 * the claim goes. It reads as the Go provider's flow — cluster, finalizer, pool, pause, delete,
 * ensure address, status — but each step is a function that either answers or lets the next run.
 */
import { randomUUID } from 'node:crypto';
import {
  ANNOTATION_PAUSED,
  FINALIZER_PROTECT_ADDRESS,
  FINALIZER_PROTECT_POOL,
  FINALIZER_RELEASE_ADDRESS,
  isPrefixPoolKind,
} from '../api/constants.js';
import {
  isAlreadyExists,
  isNotFound,
  KubeApiError,
  type ReconcileResult,
  type Reconciler,
} from '../kube/index.js';
import {
  adoptionPatch,
  clusterNameOf,
  desiredIPAddress,
  handlesPoolRef,
  isDeleting,
  isPaused,
  passesWatchFilter,
  poolKeyOfRef,
} from './claim-rules.js';
import {
  type ClaimSchema,
  cacheBehindOwnWrite,
  claimConditions,
  claimReady,
  PAUSED,
  READY,
  Reasons,
  remember,
  type StatusRun,
  writeConditions,
} from './claim-status.js';
import type { ConditionInput } from './conditions.js';
import type { ControllerContext, LiveAddress, LiveClaim } from './context.js';
import { protectPool } from './inclusterippool.js';
import { owningClaimUid, releaseOrphanAddress } from './orphans.js';
import type { PoolState } from './pool-state.js';

/** Claims waiting on an exhausted pool also retry this often, in case a wake-up is missed. */
const EXHAUSTED_RETRY_MS = 60_000;

type Step = ReconcileResult | undefined;

interface Run extends StatusRun {
  log: ControllerContext['log'];
}

function poolName(pool: PoolState): string {
  const ns = pool.pool.metadata?.namespace;
  return `${pool.kind} ${ns ? `${ns}/` : ''}${pool.pool.metadata?.name ?? ''}`;
}

function refName(claim: LiveClaim): string {
  const ref = claim.spec.poolRef;
  return `${ref.kind} ${ref.kind.startsWith('Global') ? '' : `${claim.metadata.namespace}/`}${ref.name}`;
}

export function claimReconciler(ctx: ControllerContext): Reconciler<string> {
  const written = new Map<string, string>();
  const schema: ClaimSchema = { v1beta2StatusPruned: false };
  return async (key, signal) => {
    const claim = ctx.claims.get(key);
    if (!claim) {
      written.delete(key);
      return releaseOrphanAddress(ctx, key, signal);
    }
    if (cacheBehindOwnWrite(written, key, claim)) return;
    const [namespace, name] = [claim.metadata.namespace ?? '', claim.metadata.name ?? ''];
    // Keys as controller-runtime's reconcile logger: the object as {name, namespace}, then both again.
    const log = ctx.log.child({
      IPAddressClaim: { name, namespace },
      namespace,
      name,
      reconcileID: randomUUID(),
    });
    if (!handlesPoolRef(claim.spec?.poolRef) || !passesWatchFilter(claim, ctx.watchFilter)) return;
    log.debug({ resourceVersion: claim.metadata.resourceVersion }, 'Reconciling IPAddressClaim');
    const run: Run = { ctx, key, claim, signal, log, written, schema };
    if (isPaused(claim))
      return setPaused(run, `IPAddressClaim ${key} has the ${ANNOTATION_PAUSED} annotation`);
    return reconcileClaim(run);
  };
}

async function reconcileClaim(run: Run): Promise<Step> {
  const stop = await checkCluster(run);
  if (stop !== 'continue') return stop;
  // A claim gone before our finalizer got on needs nothing more: its delete event brings it back
  // here, where anything made for it meanwhile is released (orphans.ts).
  if (!isDeleting(run.claim) && !(await ensureFinalizer(run))) return;
  const pool = run.ctx.registry.get(poolKeyOfRef(run.claim.spec.poolRef, run.claim.metadata.namespace));
  if (!pool) {
    if (isDeleting(run.claim)) return release(run, undefined);
    run.log.info({ pool: refName(run.claim) }, 'pool not found; waiting for it to be created');
    const message = `${refName(run.claim)} not found; the claim waits until it exists`;
    // Repeats of the same warning only bump the Event's count.
    run.ctx.recorder.warning(run.claim, Reasons.PoolNotFound, message);
    return setStatus(run, ready('False', Reasons.PoolNotFound, message));
  }
  if (isPaused(pool.pool)) return setPaused(run, `${poolName(pool)} has the ${ANNOTATION_PAUSED} annotation`);
  if (isDeleting(run.claim)) return release(run, pool);
  return ensureAddress(run, pool);
}

/** Missing Cluster: wait, unless the claim is being deleted (else it could never go). Paused: wait. */
async function checkCluster(run: Run): Promise<Step | 'continue'> {
  const clusterName = clusterNameOf(run.claim);
  if (!clusterName) return 'continue';
  const cluster = run.ctx.clusters?.get(`${run.claim.metadata.namespace}/${clusterName}`);
  if (!cluster) {
    if (isDeleting(run.claim)) return 'continue';
    run.log.info({ Cluster: clusterName }, 'Cluster not found; skipping reconciliation until it exists');
    return undefined;
  }
  if (cluster.spec?.paused === true || isPaused(cluster)) {
    return setPaused(run, `Cluster ${run.claim.metadata.namespace}/${clusterName} is paused`);
  }
  return 'continue';
}

/** False when the claim is gone. */
async function ensureFinalizer(run: Run): Promise<boolean> {
  const finalizers = run.claim.metadata.finalizers ?? [];
  if (finalizers.includes(FINALIZER_RELEASE_ADDRESS)) return true;
  // The resourceVersion makes this fail (and retry) rather than overwrite a list someone changed.
  const patched = run.ctx.client.patch<LiveClaim>(
    run.ctx.claimResource,
    run.claim.metadata.name ?? '',
    {
      metadata: {
        finalizers: [...finalizers, FINALIZER_RELEASE_ADDRESS],
        resourceVersion: run.claim.metadata.resourceVersion,
      },
    },
    { namespace: run.claim.metadata.namespace, fieldManager: run.ctx.fieldManager, signal: run.signal },
  );
  try {
    run.claim = await patched;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
  remember(run, run.claim);
  return true;
}

async function ensureAddress(run: Run, pool: PoolState): Promise<Step> {
  const { ctx, key, claim } = run;
  const existing = ctx.addresses.get(key);
  if (existing) return adopt(run, pool, existing);
  if (!pool.valid) {
    return setStatus(
      run,
      ready('False', Reasons.PoolNotReady, `${poolName(pool)} is invalid: ${pool.invalidReason}`),
    );
  }
  if (!(pool.pool.metadata?.finalizers ?? []).includes(FINALIZER_PROTECT_POOL)) {
    // The API server refuses new finalizers on an object being deleted: such a pool is going.
    if (isDeleting(pool.pool)) {
      const message = `${poolName(pool)} is being deleted; no address is handed out from it`;
      return setStatus(run, ready('False', Reasons.PoolNotReady, message));
    }
    await protectPool(ctx, pool);
  }
  const address = pool.reserveNext(key);
  if (address === undefined) {
    pool.waiting.add(key);
    const c = pool.counts();
    const what = isPrefixPoolKind(pool.kind) ? 'prefix' : 'address';
    const message = `${poolName(pool)} has no free ${what} (${c.total} total, ${c.used} used)`;
    // Once when the claim starts waiting (or the counts move), not on every wake-up and retry:
    // each freed address wakes every waiting claim, and each repeat is an Event write.
    const was = claimReady(ctx, claim);
    if (was?.reason !== Reasons.PoolExhausted || was.message !== message)
      ctx.recorder.warning(claim, Reasons.PoolExhausted, message);
    await setStatus(run, ready('False', Reasons.PoolExhausted, message));
    return { requeueAfterMs: EXHAUSTED_RETRY_MS };
  }
  pool.waiting.delete(key);
  const desired = desiredIPAddress(
    claim,
    ctx.capiApiVersion,
    pool.pool,
    pool.kind,
    ctx.capiApiVersion,
    pool.ipAddressFields(address),
  );
  let created: LiveAddress;
  try {
    created = await ctx.client.create<LiveAddress>(ctx.addressResource, desired as LiveAddress, {
      fieldManager: ctx.fieldManager,
      signal: run.signal,
    });
  } catch (err) {
    if (isAlreadyExists(err)) return adoptAfterConflict(run, pool);
    if (isRefused(err)) {
      ctx.registry.releaseReservation(pool, key);
      const message = `creating IPAddress ${key} failed: ${(err as Error).message}`;
      ctx.recorder.warning(claim, Reasons.AllocationFailed, message);
      await setStatus(run, ready('False', Reasons.AllocationFailed, message));
    }
    // Anything else may have created the object anyway (a 5xx from the API server or a proxy in
    // front of it, a lost answer): keep the reservation so no other claim gets the address; the
    // retry finds the object or creates it, and a claim gone meanwhile is released (orphans.ts).
    throw err;
  }
  ctx.registry.observeOwnWrite(created);
  ctx.metrics.allocations.inc({ pool: pool.key });
  run.log.info({ pool: poolName(pool), address }, `IPAddress ${key} (${address}) has been created`);
  ctx.recorder.normal(claim, Reasons.AddressAllocated, `Allocated ${address} from ${poolName(pool)}`);
  return setStatus(run, allocated(desired.spec, pool), claim.metadata.name);
}

/** Create said AlreadyExists: our cache is behind. Take the object as it is in the API. */
async function adoptAfterConflict(run: Run, pool: PoolState): Promise<Step> {
  const { ctx, key, claim } = run;
  const current = await ctx.client.get<LiveAddress>(
    ctx.addressResource,
    claim.metadata.name ?? '',
    claim.metadata.namespace,
    run.signal,
  );
  ctx.registry.releaseReservation(pool, key);
  return adopt(run, pool, current);
}

/** An IPAddress named like the claim exists (ours from before, pre-seeded, or moved by clusterctl). */
async function adopt(run: Run, pool: PoolState, existing: LiveAddress): Promise<Step> {
  const { ctx, key, claim } = run;
  const ref = existing.spec?.poolRef;
  if (!ref || poolKeyOfRef(ref, existing.metadata.namespace) !== pool.key) {
    const message = `IPAddress ${key} exists but belongs to ${ref?.kind ?? '?'} ${ref?.name ?? '?'}, not to ${poolName(pool)}`;
    ctx.recorder.warning(claim, Reasons.AllocationFailed, message);
    return setStatus(run, ready('False', Reasons.AllocationFailed, message));
  }
  ctx.registry.observeOwnWrite(existing);
  const patch = adoptionPatch(existing, claim, ctx.capiApiVersion, pool.pool, pool.kind);
  if (patch) {
    await ctx.client.patch(ctx.addressResource, existing.metadata.name ?? '', patch, {
      namespace: existing.metadata.namespace,
      fieldManager: ctx.fieldManager,
      signal: run.signal,
    });
    run.log.info(
      { address: existing.spec.address },
      `IPAddress ${key} (${existing.spec.address}) has been adopted`,
    );
  }
  if (isDeleting(existing)) {
    run.log.info(
      {},
      `IPAddress ${key} is being deleted; the ${FINALIZER_PROTECT_ADDRESS} finalizer keeps it until the claim is deleted`,
    );
  }
  return setStatus(run, allocated(existing.spec, pool), claim.metadata.name);
}

/** Release: honour the grace period, unprotect and delete the IPAddress, drop our finalizer. */
async function release(run: Run, pool: PoolState | undefined): Promise<Step> {
  const { ctx, key, claim } = run;
  if (!(claim.metadata.finalizers ?? []).includes(FINALIZER_RELEASE_ADDRESS)) return;
  const grace = pool && !isDeleting(pool.pool) ? pool.gracePeriodSeconds : 0;
  if (grace > 0 && claim.metadata.deletionTimestamp) {
    const remaining = Date.parse(claim.metadata.deletionTimestamp) + grace * 1000 - ctx.now();
    if (remaining > 0) {
      run.log.info({ remainingMs: remaining }, 'Address reuse grace period active; delaying release');
      return { requeueAfterMs: remaining };
    }
  }
  const name = claim.metadata.name ?? '';
  const ns = claim.metadata.namespace;
  let address: LiveAddress | undefined;
  try {
    // From the API, not the cache: a stale cache must not make us skip a real IPAddress.
    address = await ctx.client.get<LiveAddress>(ctx.addressResource, name, ns, run.signal);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  if (address && !belongsToClaim(address, claim)) {
    run.log.info(
      { address: address.spec?.address },
      `IPAddress ${key} belongs to another claim or pool; left in place`,
    );
    if (pool) ctx.registry.releaseReservation(pool, key);
  } else if (address) {
    const finalizers = address.metadata.finalizers ?? [];
    if (finalizers.includes(FINALIZER_PROTECT_ADDRESS)) {
      await ignoreNotFound(
        ctx.client.patch(
          ctx.addressResource,
          name,
          {
            metadata: {
              finalizers: finalizers.filter((f) => f !== FINALIZER_PROTECT_ADDRESS),
              resourceVersion: address.metadata.resourceVersion,
            },
          },
          { namespace: ns, fieldManager: ctx.fieldManager, signal: run.signal },
        ),
      );
    }
    // The UID precondition: an IPAddress made meanwhile under this name is not this one.
    const preconditions = { uid: address.metadata.uid };
    await ignoreNotFound(
      ctx.client.delete(ctx.addressResource, name, ns, { signal: run.signal, preconditions }),
    );
    if (pool) ctx.metrics.releases.inc({ pool: pool.key });
    ctx.recorder.normal(claim, 'AddressReleased', `Released ${address.spec?.address} of IPAddress ${key}`);
    run.log.info({ address: address.spec?.address }, `IPAddress ${key} has been released`);
  } else if (pool) {
    ctx.registry.releaseReservation(pool, key);
  }
  await ignoreNotFound(
    ctx.client.patch(
      ctx.claimResource,
      name,
      {
        metadata: {
          finalizers: (claim.metadata.finalizers ?? []).filter((f) => f !== FINALIZER_RELEASE_ADDRESS),
          resourceVersion: claim.metadata.resourceVersion,
        },
      },
      { namespace: ns, fieldManager: ctx.fieldManager, signal: run.signal },
    ),
  );
  return;
}

/**
 * A definite refusal: the API server answered 4xx, so the object was not created. 408 and 429 are
 * answers too, but the first says the request timed out somewhere and the second may come from a
 * proxy that passed the request on; neither proves nothing was written.
 */
function isRefused(err: unknown): boolean {
  return (
    err instanceof KubeApiError && err.code >= 400 && err.code < 500 && err.code !== 408 && err.code !== 429
  );
}

/**
 * Is this IPAddress the claim's to release? Ours from this claim (its UID controls it), or one in
 * the claim's pool that no other claim controls. An IPAddress named like the claim in another pool
 * (adoption refused it as AllocationFailed) belongs to someone else and stays.
 */
function belongsToClaim(address: LiveAddress, claim: LiveClaim): boolean {
  const owner = owningClaimUid(address);
  if (owner !== undefined) return owner === claim.metadata.uid;
  const ref = address.spec?.poolRef;
  const ns = claim.metadata.namespace;
  return ref !== undefined && poolKeyOfRef(ref, ns) === poolKeyOfRef(claim.spec.poolRef, ns);
}

async function ignoreNotFound(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

function ready(status: 'True' | 'False', reason: string, message: string): ConditionInput {
  return { type: READY, status, reason, message };
}

function allocated(spec: { address: string; prefix?: number | undefined }, pool: PoolState): ConditionInput {
  const what = pool.allocationText(spec.address, spec.prefix);
  return ready('True', Reasons.AddressAllocated, `Address ${what} allocated from ${poolName(pool)}`);
}

async function setPaused(run: Run, message: string): Promise<Step> {
  return writeConditions(run, [{ type: PAUSED, status: 'True', reason: Reasons.Paused, message }], undefined);
}

/**
 * Ready, and Paused=False only on a claim that carries a Paused condition already (it was paused
 * once): one left at True would say it is still held. A claim never paused carries Ready alone —
 * the only condition type Cluster API's IPAddressClaim names, and the only one the Go provider's
 * conditions branch writes; Paused=False on every claim costs the API server ~8 % more work per
 * allocation (docs/design-notes.md) and tells nobody anything.
 */
async function setStatus(run: Run, readyCondition: ConditionInput, addressName?: string): Promise<Step> {
  const wasPaused = claimConditions(run.ctx, run.claim)?.some((c) => c.type === PAUSED) ?? false;
  const notPaused: ConditionInput = { type: PAUSED, status: 'False', reason: Reasons.NotPaused, message: '' };
  return writeConditions(run, wasPaused ? [readyCondition, notPaused] : [readyCondition], addressName);
}
