/**
 * A claim's status as the reconciler writes it: the conditions (Ready, Paused) and addressRef in
 * one patch when something changed, in the place the served version keeps them, and what the
 * reconciler remembers of its own writes until the cache has them.
 */
import { compareResourceVersions, isNotFound, type ReconcileResult } from '../kube/index.js';
import { handlesPoolRef, passesWatchFilter, poolKeyOfRef } from './claim-rules.js';
import {
  type Condition,
  type ConditionInput,
  setCondition,
  setV1Beta1Condition,
  type V1Beta1ConditionInput,
} from './conditions.js';
import type { ControllerContext, LiveClaim } from './context.js';

export const READY = 'Ready';
export const PAUSED = 'Paused';
export const Reasons = {
  AddressAllocated: 'AddressAllocated',
  PoolNotFound: 'PoolNotFound',
  PoolNotReady: 'PoolNotReady',
  PoolExhausted: 'PoolExhausted',
  AllocationFailed: 'AllocationFailed',
  Paused: 'Paused',
  NotPaused: 'NotPaused',
  /** The chosen address (pin or requested-address annotation) is held by another IPAddress or pinned to another claim. */
  AddressInUse: 'AddressInUse',
  /** The chosen address is outside the pool's allocatable set. */
  AddressNotInPool: 'AddressNotInPool',
  /** The requested-address annotation is not an address. */
  InvalidRequestedAddress: 'InvalidRequestedAddress',
  /** The claim is pinned to one address and its annotation asks for another. */
  AddressConflict: 'AddressConflict',
  /** A global pool's namespaceSelector does not select the claim's namespace. */
  NamespaceNotAllowed: 'NamespaceNotAllowed',
} as const;

export interface ClaimSchema {
  /**
   * Cluster API before 1.9 has no status.v1beta2 on v1beta1 claims: the API server prunes the
   * conditions written there, and writing them again on every reconcile changes nothing.
   */
  v1beta2StatusPruned: boolean;
}

/** What a status write needs of a reconcile. */
export interface StatusRun {
  ctx: ControllerContext;
  key: string;
  claim: LiveClaim;
  signal: AbortSignal;
  /** Claim key → resourceVersion of our latest write to it, until the cache has caught up. */
  written: Map<string, string>;
  /** What the served claim schema keeps; learnt from the answers to our status writes. */
  schema: ClaimSchema;
}

/**
 * True when the cached claim is older than what our own last write to it returned. Another event
 * (the IPAddress's ADDED, say) can start a reconcile before the claim's own update reached the
 * cache; reconciling that stale copy would write the status again (with a new transition time) or
 * patch the finalizer against an old resourceVersion and fail with Conflict. Nothing is lost by
 * waiting: the update we are behind on is on its way, and its event queues the claim again.
 */
export function cacheBehindOwnWrite(written: Map<string, string>, key: string, claim: LiveClaim): boolean {
  const ours = written.get(key);
  if (ours === undefined) return false;
  const order = compareResourceVersions(claim.metadata.resourceVersion, ours);
  if (order !== undefined && order < 0) return true;
  written.delete(key);
  return false;
}

export function remember(run: StatusRun, obj: LiveClaim | undefined): void {
  const rv = obj?.metadata?.resourceVersion;
  if (rv) run.written.set(run.key, rv);
}

/** The claim's metav1 conditions: status.conditions on v1beta2, status.v1beta2.conditions on v1beta1. */
export function claimConditions(ctx: ControllerContext, claim: LiveClaim): Condition[] | undefined {
  const status = (claim.status ?? {}) as Record<string, unknown> & { v1beta2?: { conditions?: Condition[] } };
  return ctx.capiApiVersion.endsWith('/v1beta1')
    ? status.v1beta2?.conditions
    : (status.conditions as Condition[] | undefined);
}

/**
 * The claim's Cluster API v1beta1 conditions, as they came (unchecked): status.conditions on
 * v1beta1; on v1beta2 status.deprecated.v1beta1.conditions, which claims stored as v1beta1 keep.
 */
function v1beta1Conditions(ctx: ControllerContext, claim: LiveClaim): unknown[] | undefined {
  return ctx.capiApiVersion.endsWith('/v1beta1')
    ? (claim.status?.conditions as unknown[] | undefined)
    : claim.status?.deprecated?.v1beta1?.conditions;
}

/**
 * The claim's Ready state as last written: from its metav1 conditions, or, on a v1beta1 claim that
 * has none (Cluster API before 1.9 prunes status.v1beta2), from its v1beta1 conditions.
 */
export function claimReady(
  ctx: ControllerContext,
  claim: LiveClaim,
): { reason?: string | undefined; message?: string | undefined } | undefined {
  const ready = claimConditions(ctx, claim)?.find((c) => c.type === READY);
  if (ready || !ctx.capiApiVersion.endsWith('/v1beta1')) return ready;
  return (
    v1beta1Conditions(ctx, claim) as { type?: string; reason?: string; message?: string }[] | undefined
  )?.find((c) => c?.type === READY);
}

/**
 * Ready as a Cluster API v1beta1 condition: True carries nothing more; False a severity — Error
 * where a person must change something (an invalid pool, an address that cannot be made), Warning
 * where it may resolve by itself (the pool appears, an address frees).
 */
export function v1beta1Ready(input: ConditionInput): V1Beta1ConditionInput {
  if (input.status === 'True') return { type: READY, status: 'True' };
  const severity =
    input.reason === Reasons.PoolNotReady || input.reason === Reasons.AllocationFailed ? 'Error' : 'Warning';
  // The v1beta1 schema takes no empty message.
  const message = input.message === '' ? {} : { message: input.message };
  return { type: READY, status: input.status, severity, reason: input.reason, ...message };
}

/**
 * One status write with the conditions and the addressRef, only when something changed. v1beta2
 * claims carry metav1 conditions in status.conditions. v1beta1 claims carry them in
 * status.v1beta2.conditions (when the schema has it, Cluster API 1.9+), and Ready also as a v1beta1
 * condition in status.conditions, where the tools of that release (clusterctl describe) read it.
 */
export async function writeConditions(
  run: StatusRun,
  inputs: ConditionInput[],
  addressName: string | undefined,
): Promise<ReconcileResult | undefined> {
  const { ctx, claim } = run;
  const v1beta1 = ctx.capiApiVersion.endsWith('/v1beta1');
  const noConditions = v1beta1 && run.schema.v1beta2StatusPruned;
  let conditions = claimConditions(ctx, claim);
  let changed = false;
  for (const input of noConditions ? [] : inputs) {
    const next = setCondition(conditions, { ...input, observedGeneration: claim.metadata.generation });
    if (next) {
      conditions = next;
      changed = true;
    }
  }
  // v1beta1 Ready: in status.conditions of v1beta1 claims; on v1beta2 claims only where it is
  // already (claims stored as v1beta1 before Cluster API 1.11 keep it in status.deprecated), so
  // that what a v1beta1 reader is shown does not stay behind.
  const readyInput = inputs.find((i) => i.type === READY);
  const v1beta1Current = v1beta1Conditions(ctx, claim);
  const v1Conditions =
    readyInput && (v1beta1 || v1beta1Current !== undefined)
      ? setV1Beta1Condition(v1beta1Current, v1beta1Ready(readyInput))
      : undefined;
  const addressRefChanged = addressName !== undefined && claim.status?.addressRef?.name !== addressName;
  if (!changed && !addressRefChanged && !v1Conditions) return;
  const patch: Record<string, unknown> = !changed
    ? {}
    : v1beta1
      ? { v1beta2: { conditions } }
      : { conditions };
  if (v1Conditions && v1beta1) patch.conditions = v1Conditions;
  if (v1Conditions && !v1beta1) patch.deprecated = { v1beta1: { conditions: v1Conditions } };
  if (addressName !== undefined) patch.addressRef = { name: addressName };
  try {
    // A merge patch replaces the whole conditions list: the resourceVersion makes it fail (and the
    // claim retry from a fresh copy) rather than drop a condition another writer added meanwhile.
    const updated = await ctx.client.patchStatus<LiveClaim>(
      ctx.claimResource,
      claim.metadata.name ?? '',
      { metadata: { resourceVersion: claim.metadata.resourceVersion }, status: patch },
      {
        namespace: claim.metadata.namespace,
        fieldManager: ctx.fieldManager,
        signal: run.signal,
      },
    );
    remember(run, updated);
    const kept = (updated?.status as { v1beta2?: unknown } | undefined)?.v1beta2;
    if (v1beta1 && changed && kept === undefined && !run.schema.v1beta2StatusPruned) {
      run.schema.v1beta2StatusPruned = true;
      ctx.log.info(
        { claimVersion: ctx.capiApiVersion },
        'the served IPAddressClaim has no status.v1beta2 (Cluster API before 1.9): its claims get only the v1beta1 Ready condition',
      );
    }
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  return;
}

/**
 * Claims this provider handles whose Ready is not True, as `pool\0reason` → count, for the
 * ipam_claims_not_ready gauge. NotReconciled: no Ready yet (waiting for its Cluster, say).
 */
export function countClaimsNotReady(ctx: ControllerContext): Map<string, number> {
  const counts = new Map<string, number>();
  for (const claim of ctx.claims.list()) {
    if (!handlesPoolRef(claim.spec?.poolRef) || !passesWatchFilter(claim, ctx.watchFilter)) continue;
    const ready = claimReady(ctx, claim) as { status?: string; reason?: string } | undefined;
    if (ready?.status === 'True') continue;
    const key = `${poolKeyOfRef(claim.spec.poolRef, claim.metadata.namespace)}\0${ready?.reason ?? 'NotReconciled'}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}
