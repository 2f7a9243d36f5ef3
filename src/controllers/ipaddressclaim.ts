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
import { selectorMatches } from '../api/selector.js';
import { canonicalIP } from '../ip/index.js';
import {
  isAlreadyExists,
  isNotFound,
  KubeApiError,
  type ReconcileResult,
  type Reconciler,
} from '../kube/index.js';
import {
  ANNOTATION_REQUESTED_ADDRESS,
  canonicalChoice,
  chosenAddress,
  whyNotAllocatable,
} from './chosen-address.js';
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
import { releaseOrphanAddress } from './orphans.js';
import type { ChosenOutcome, PoolState } from './pool-state.js';
import { prefixHoldKey } from './prefix-pools.js';

/** Claims waiting on an exhausted pool also retry this often, in case a wake-up is missed. */
const EXHAUSTED_RETRY_MS = 60_000;

type Step = ReconcileResult | undefined;

interface Run extends StatusRun {
  log: ControllerContext['log'];
  /** Claim key → the requested address last warned about as ignored. */
  warned: Map<string, string>;
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

/**
 * A global pool that does not select the claim's namespace: no address, and no finalizer either
 * (nothing to release). An address already handed out is never revoked by a selector or a label
 * that changed since: only claims still waiting follow the new rule.
 */
function refuseNamespace(run: Run): Promise<Step> | undefined {
  const { ctx, key, claim } = run;
  const pool = ctx.registry.get(poolKeyOfRef(claim.spec.poolRef, claim.metadata.namespace));
  if (pool?.namespaceSelector === undefined) return undefined;
  if (ctx.addresses.get(key) || pool.addressOf(key) !== undefined) return undefined;
  const namespace = claim.metadata.namespace ?? '';
  const labels = ctx.namespaces.get(namespace)?.metadata.labels;
  if (selectorMatches(pool.namespaceSelector, labels)) return undefined;
  const message = `${poolName(pool)} does not serve namespace ${namespace}: its spec.namespaceSelector does not select it`;
  return notReady(run, Reasons.NamespaceNotAllowed, message);
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

function requestedAddress(claim: LiveClaim): string | undefined {
  return claim.metadata.annotations?.[ANNOTATION_REQUESTED_ADDRESS];
}

/**
 * Ready=False with a warning Event, the Event once when the claim starts waiting for this reason
 * (or the message changes), not on every wake-up and retry: each freed address wakes every
 * waiting claim, and each repeat is an Event write.
 */
async function notReady(run: Run, reason: string, message: string): Promise<Step> {
  const was = claimReady(run.ctx, run.claim);
  if (was?.reason !== reason || was.message !== message) run.ctx.recorder.warning(run.claim, reason, message);
  return setStatus(run, ready('False', reason, message));
}

/** The chosen address cannot be had now: say why, and wait (its holder's release wakes the claim). */
async function refuseChosen(
  run: Run,
  pool: PoolState,
  address: string,
  outcome: Exclude<ChosenOutcome, { reserved: string }>,
): Promise<Step> {
  if ('outside' in outcome) {
    const why = whyNotAllocatable(pool.kind, pool.pool, address);
    return notReady(run, Reasons.AddressNotInPool, `${poolName(pool)} cannot hand out ${address}: ${why}`);
  }
  pool.waiting.add(run.key);
  const by =
    'pinnedTo' in outcome
      ? `pinned to IPAddressClaim ${outcome.pinnedTo} by the pool's spec.preAllocations`
      : outcome.heldBy === run.key
        ? `not what this claim holds already (${pool.addressOf(run.key)}): an IPAddress is immutable`
        : outcome.heldBy === ''
          ? 'covered by an IPAddress of another prefix length'
          : `held by IPAddress ${outcome.heldBy}`;
  await notReady(
    run,
    Reasons.AddressInUse,
    `${address} in ${poolName(pool)} is ${by}; the claim waits for it`,
  );
  return { requeueAfterMs: EXHAUSTED_RETRY_MS };
}

/**
 * A claim that holds its address and whose annotation now asks for another: nothing changes (an
 * IPAddress is immutable), and a warning says so, once per value asked for.
 */
function warnRequestedIgnored(run: Run, pool: PoolState, existing: LiveAddress): void {
  const requested = requestedAddress(run.claim);
  const asked = requested === undefined ? undefined : canonicalChoice(pool.kind, requested);
  const held = isPrefixPoolKind(pool.kind)
    ? prefixHoldKey(existing.spec.address, existing.spec.prefix)
    : (canonicalIP(existing.spec.address) ?? existing.spec.address);
  if (!asked?.ok || asked.value === held) {
    run.warned.delete(run.key);
    return;
  }
  if (run.warned.get(run.key) === asked.value) return;
  run.warned.set(run.key, asked.value);
  run.ctx.recorder.warning(
    run.claim,
    'RequestedAddressIgnored',
    `${ANNOTATION_REQUESTED_ADDRESS} asks for ${asked.value}, but the claim holds ${held} (IPAddress ${run.key}), which never changes: delete the claim to be given another address`,
  );
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
