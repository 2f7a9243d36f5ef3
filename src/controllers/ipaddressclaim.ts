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
import { isAlreadyExists, isNotFound, KubeApiError, type Reconciler } from '../kube/index.js';
import { chosenAddress } from './chosen-address.js';
import { refuseChosen, refuseNamespace, requestedAddress, warnRequestedIgnored } from './claim-choice.js';
import { release } from './claim-release.js';
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
import { type ClaimSchema, cacheBehindOwnWrite, Reasons, remember } from './claim-status.js';
import {
  allocated,
  EXHAUSTED_RETRY_MS,
  notReady,
  poolName,
  type Run,
  ready,
  refName,
  type Step,
  setPaused,
  setStatus,
} from './claim-steps.js';
import type { ControllerContext, LiveAddress, LiveClaim } from './context.js';
import { protectPool } from './inclusterippool.js';
import { releaseOrphanAddress } from './orphans.js';
import type { PoolState } from './pool-state.js';

export function claimReconciler(ctx: ControllerContext): Reconciler<string> {
  const written = new Map<string, string>();
  const warned = new Map<string, string>();
  const schema: ClaimSchema = { v1beta2StatusPruned: false };
  return async (key, signal) => {
    const claim = ctx.claims.get(key);
    if (!claim) {
      written.delete(key);
      warned.delete(key);
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
    const run: Run = { ctx, key, claim, signal, log, written, warned, schema };
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
  if (!isDeleting(run.claim)) {
    const refused = refuseNamespace(run);
    if (refused) return refused;
    if (!(await ensureFinalizer(run))) return;
  }
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
  const choice = chosenAddress(pool.kind, pool.pinOf(key), requestedAddress(claim));
  if (choice.kind === 'refused') return notReady(run, choice.reason, choice.message);
  let address: string | undefined;
  if (choice.kind === 'chosen') {
    // Exactly that address or none: never another, never one taken from its holder.
    const outcome = pool.reserveChosen(key, choice.address);
    if (!('reserved' in outcome)) return refuseChosen(run, pool, choice.address, outcome);
    address = outcome.reserved;
  } else {
    address = pool.reserveNext(key);
    if (address === undefined) {
      pool.waiting.add(key);
      const c = pool.counts();
      const what = isPrefixPoolKind(pool.kind) ? 'prefix' : 'address';
      const message = `${poolName(pool)} has no free ${what} (${c.total} total, ${c.used} used)`;
      await notReady(run, Reasons.PoolExhausted, message);
      return { requeueAfterMs: EXHAUSTED_RETRY_MS };
    }
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
  warnRequestedIgnored(run, pool, existing);
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
