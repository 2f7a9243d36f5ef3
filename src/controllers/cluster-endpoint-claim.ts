/**
 * The claim side of a Cluster's control-plane endpoint (cluster-endpoint.ts): the one
 * IPAddressClaim a Cluster gets — found before it is made, used only if the Cluster owns it, deleted
 * once the Cluster is gone — the address the claim flow bound to it, and this flow's condition on it.
 */
import type { Logger } from 'pino';
import { isAlreadyExists, isNotFound, type ResourceDescriptor, splitObjectKey } from '../kube/index.js';
import { isDeleting, objectKey } from './claim-rules.js';
import { claimConditions } from './claim-status.js';
import {
  CLAIM_ENDPOINT_INDEX,
  claimOwnership,
  desiredEndpointClaim,
  ENDPOINT_SET,
  EndpointEvents,
  EndpointReasons,
  type EndpointRequest,
  endpointClaimName,
  requestedAddressPatch,
} from './cluster-endpoint-rules.js';
import { type ConditionInput, setCondition } from './conditions.js';
import { boundAddressOf, deleteOwnClaim, getOrUndefined, ownershipKey } from './consumer-claims.js';
import type { ControllerContext, LiveClaim, LiveCluster } from './context.js';

/** What the reconciler remembers between reconciles; all of it may be lost (a restart) safely. */
export interface EndpointState {
  /** Cluster key + Event type → the last Event recorded, so a wake-up that changes nothing records nothing. */
  said: Map<string, string>;
  /**
   * Cluster key → `<Cluster uid>/<claim uid>` of the claim seen owned by it: cached claims keep no
   * owner references, so ownership is read from the API once per claim and Cluster.
   */
  owners: Map<string, string>;
  /** Cluster key → resourceVersion our last write returned, until the cache has it. */
  written: Map<string, string>;
  /** Claims served as v1beta1 by Cluster API before 1.9 keep no metav1 conditions. */
  conditionsPruned: boolean;
}

/** One reconcile of one Cluster. */
export interface EndpointRun {
  ctx: ControllerContext;
  state: EndpointState;
  key: string;
  cluster: LiveCluster;
  resource: ResourceDescriptor;
  signal: AbortSignal;
  log: Logger;
}

/** The Cluster's claim, or why there is none to use: a refusal to report, or a wait (nothing to say). */
export type ClaimOutcome =
  | { claim: LiveClaim }
  | { refused: { reason: string; message: string }; claim?: LiveClaim }
  | { waiting: true };

/**
 * The Cluster's one claim: found by its label (after a restart the claim made before is there),
 * else made under the Cluster's own name, so that a create the cache has not shown yet answers
 * AlreadyExists instead of making a second claim.
 */
export async function ensureClaim(run: EndpointRun, request: EndpointRequest): Promise<ClaimOutcome> {
  const { ctx, cluster } = run;
  const name = endpointClaimName(cluster.metadata.name ?? '');
  const found =
    ctx.claims.byIndex(CLAIM_ENDPOINT_INDEX, run.key).find((c) => c.metadata.name === name) ??
    ctx.claims.get(`${cluster.metadata.namespace}/${name}`);
  let claim = found ?? (await createClaim(run, request));
  if (!claim) return { waiting: true };
  const owned = await ownedByCluster(run, claim);
  if (owned !== true) return owned;
  const ref = claim.spec.poolRef;
  if (ref.kind !== request.pool.kind || ref.name !== request.pool.name) {
    const message = `IPAddressClaim ${objectKey(claim)} was made from ${ref.kind} ${ref.name}, and a claim's pool never changes: ${request.pool.kind} ${request.pool.name} is not used. Deleting the claim releases its address and makes a new claim from ${request.pool.kind} ${request.pool.name}`;
    return { refused: { reason: EndpointReasons.PoolChanged, message }, claim };
  }
  // The Cluster's requested address pins the claim's; the claim flow decides what it means for a
  // claim that holds an address already (nothing changes, and it says so on the claim).
  const patch = requestedAddressPatch(claim, request);
  if (patch) {
    claim = await ctx.client.patch<LiveClaim>(ctx.claimResource, claim.metadata.name ?? '', patch, {
      namespace: claim.metadata.namespace,
      fieldManager: ctx.fieldManager,
      signal: run.signal,
    });
  }
  return { claim };
}

async function createClaim(run: EndpointRun, request: EndpointRequest): Promise<LiveClaim | undefined> {
  const { ctx, cluster } = run;
  const clusterApiVersion = `${run.resource.group}/${run.resource.version}`;
  const desired = desiredEndpointClaim(
    cluster,
    request,
    clusterApiVersion,
    ctx.capiApiVersion,
    ctx.watchFilter,
  );
  let created: LiveClaim;
  try {
    created = await ctx.client.create<LiveClaim>(ctx.claimResource, desired as LiveClaim, {
      fieldManager: ctx.fieldManager,
      signal: run.signal,
    });
  } catch (err) {
    // Made before (by us, and not cached yet) or by someone else: ownedByCluster tells which.
    if (!isAlreadyExists(err)) throw err;
    const name = desired.metadata?.name ?? '';
    return getOrUndefined(
      ctx.client.get<LiveClaim>(ctx.claimResource, name, cluster.metadata.namespace, run.signal),
    );
  }
  run.state.owners.set(run.key, ownershipKey(cluster, created));
  const pool = `${request.pool.kind} ${request.pool.name}`;
  const claimKey = objectKey(created);
  ctx.metrics.clusterEndpoints.inc({ action: 'claimed' });
  run.log.info(
    { IPAddressClaim: claimKey, pool },
    `IPAddressClaim ${claimKey} created for the control-plane endpoint`,
  );
  ctx.recorder.normal(
    cluster,
    EndpointEvents.Claimed,
    `Claiming the control-plane endpoint's address from ${pool}: IPAddressClaim ${claimKey}`,
  );
  return created;
}

/**
 * Only a claim this Cluster owns is used. One left by an earlier Cluster of the same name is
 * deleted (the garbage collector would; we do not wait for it) and a new one made once it is gone;
 * one someone else made under our name is left alone.
 */
async function ownedByCluster(run: EndpointRun, claim: LiveClaim): Promise<true | ClaimOutcome> {
  const { ctx, cluster, state } = run;
  if (state.owners.get(run.key) === ownershipKey(cluster, claim)) return true;
  const { name = '', namespace } = claim.metadata;
  const full =
    claim.metadata.ownerReferences !== undefined
      ? claim
      : await getOrUndefined(ctx.client.get<LiveClaim>(ctx.claimResource, name, namespace, run.signal));
  if (!full) return { waiting: true };
  const owner = claimOwnership(full, cluster);
  if (owner === 'this') {
    state.owners.set(run.key, ownershipKey(cluster, full));
    return true;
  }
  if (owner === 'earlier') {
    if (!isDeleting(full)) {
      run.log.info(
        { IPAddressClaim: objectKey(full) },
        'the claim belongs to an earlier Cluster of this name; deleting it',
      );
      await deleteOwnClaim(ctx, full, run.signal);
    }
    return { waiting: true };
  }
  const message = `IPAddressClaim ${objectKey(full)} exists and is not this Cluster's (it has no owner reference to it): it is left alone, and the control-plane endpoint waits until that claim is renamed or deleted`;
  return { refused: { reason: EndpointReasons.ClaimNameTaken, message } };
}

/**
 * The Cluster is gone: its claim goes now (the claim flow then releases the address), not whenever
 * the garbage collector gets to it. Only the API can say the Cluster is gone: the cache may lag
 * behind a Cluster re-created under the same name.
 */
export async function releaseClaims(
  ctx: ControllerContext,
  key: string,
  resource: ResourceDescriptor,
  signal: AbortSignal,
  log: Logger,
): Promise<void> {
  const { namespace = '', name } = splitObjectKey(key);
  const claims = ctx.claims
    .byIndex(CLAIM_ENDPOINT_INDEX, key)
    .filter((c) => c.metadata.name === endpointClaimName(name) && !isDeleting(c));
  if (claims.length === 0) return;
  try {
    await ctx.client.get(resource, name, namespace, signal);
    return;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  for (const claim of claims) {
    if (!(await deleteOwnClaim(ctx, claim, signal))) continue;
    ctx.metrics.clusterEndpoints.inc({ action: 'released' });
    log.info(
      { IPAddressClaim: objectKey(claim) },
      `Cluster is gone: IPAddressClaim ${objectKey(claim)} deleted, which releases its address`,
    );
  }
}

/** The address the claim flow bound to the claim, once it did. */
export function boundAddress(run: EndpointRun, claim: LiveClaim): Promise<string | undefined> {
  return boundAddressOf(run.ctx, claim, run.signal);
}

/**
 * The flow's condition on its own claim, beside the claim flow's Ready. Both write the whole list
 * with the resourceVersion they read, so neither drops the other's condition: one gets Conflict
 * and retries from the newer copy.
 */
export async function setClaimCondition(
  run: EndpointRun,
  claim: LiveClaim,
  input: ConditionInput,
): Promise<void> {
  const { ctx, state } = run;
  if (state.conditionsPruned) return;
  const next = setCondition(claimConditions(ctx, claim), {
    ...input,
    observedGeneration: claim.metadata.generation,
  });
  if (!next) return;
  const v1beta1 = ctx.capiApiVersion.endsWith('/v1beta1');
  let updated: LiveClaim;
  try {
    updated = await ctx.client.patchStatus<LiveClaim>(
      ctx.claimResource,
      claim.metadata.name ?? '',
      {
        metadata: { resourceVersion: claim.metadata.resourceVersion },
        status: v1beta1 ? { v1beta2: { conditions: next } } : { conditions: next },
      },
      { namespace: claim.metadata.namespace, fieldManager: ctx.fieldManager, signal: run.signal },
    );
  } catch (err) {
    if (isNotFound(err)) return;
    throw err;
  }
  if (!claimConditions(ctx, updated)?.some((c) => c.type === ENDPOINT_SET)) {
    state.conditionsPruned = true;
    run.log.info(
      {},
      'the served IPAddressClaim keeps no metav1 conditions: endpoints are reported by Events only',
    );
  }
}
