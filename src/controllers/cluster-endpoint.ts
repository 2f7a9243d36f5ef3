/**
 * A Cluster's control-plane endpoint from a pool. A Cluster annotated with
 * ipam.cluster.x-k8s.io/control-plane-endpoint-pool gets one IPAddressClaim; once the claim flow
 * bound it, the address goes into spec.controlPlaneEndpoint (and the Cluster's ClusterClass
 * variable), and — if asked — spec.paused is lifted, all in one write. This controller never
 * allocates: it makes, labels and owns a claim and reads back what the claim flow wrote, so the one
 * place that proves no address goes out twice stays the only one.
 *
 * The steps, top-down: the Cluster gone → its claim released; opted in?; the claim (found before it
 * is made, cluster-endpoint-claim.ts); its bound address; the write, or why nothing is written.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { ANNOTATION_PAUSED, CLUSTER_GROUP, KIND_CLUSTER } from '../api/constants.js';
import {
  compareResourceVersions,
  isNotFound,
  KubeApiError,
  type ReconcileResult,
  type Reconciler,
  splitObjectKey,
} from '../kube/index.js';
import { isDeleting, isPaused, objectKey, passesWatchFilter } from './claim-rules.js';
import { claimReady, Reasons } from './claim-status.js';
import {
  boundAddress,
  type EndpointRun,
  type EndpointState,
  ensureClaim,
  releaseClaims,
  setClaimCondition,
} from './cluster-endpoint-claim.js';
import {
  ANNOTATION_ENDPOINT_POOL,
  CLAIM_ENDPOINT_INDEX,
  ENDPOINT_SET,
  EndpointEvents,
  type EndpointPlan,
  EndpointReasons,
  type EndpointRequest,
  endpointRequest,
  planEndpoint,
} from './cluster-endpoint-rules.js';
import type { ControllerContext, LiveClaim, LiveCluster } from './context.js';

/** The controller's name in logs and metrics, and its keys as controller-runtime logs them. */
export const ENDPOINT_CONTROLLER = 'clusterendpoint';
export const ENDPOINT_CONTROLLER_KEYS = {
  controller: ENDPOINT_CONTROLLER,
  controllerGroup: CLUSTER_GROUP,
  controllerKind: KIND_CLUSTER,
};

type Step = ReconcileResult | undefined;

export function clusterEndpointReconciler(ctx: ControllerContext, log: Logger): Reconciler<string> {
  const state: EndpointState = {
    said: new Map(),
    owners: new Map(),
    written: new Map(),
    conditionsPruned: false,
  };
  return async (key, signal) => {
    const [clusters, resource] = [ctx.clusters, ctx.clusterResource];
    // Cluster API is not served (yet): no Cluster can ask for anything, nor be known to be gone.
    if (!clusters || !resource) return;
    const { namespace = '', name } = splitObjectKey(key);
    const runLog = log.child({ Cluster: { name, namespace }, namespace, name, reconcileID: randomUUID() });
    const cluster = clusters.get(key);
    if (!cluster) {
      forget(state, key);
      return releaseClaims(ctx, key, resource, signal, runLog);
    }
    if (cacheBehindOwnWrite(state, key, cluster) || !passesWatchFilter(cluster, ctx.watchFilter)) return;
    const request = endpointRequest(cluster);
    if (request === undefined) return;
    const run: EndpointRun = { ctx, state, key, cluster, resource, signal, log: runLog };
    if ('refused' in request) return refuse(run, undefined, request.reason, request.message);
    // A Cluster on its way out gets nothing new. Its claim stays while Cluster API deletes its
    // machines — they answer on the address until then — and goes once the Cluster is gone.
    if (isDeleting(cluster)) return;
    const outcome = await ensureClaim(run, request);
    if ('waiting' in outcome) return;
    if ('refused' in outcome)
      return refuse(run, outcome.claim, outcome.refused.reason, outcome.refused.message);
    const address = await boundAddress(run, outcome.claim);
    if (address === undefined) return reportWaiting(run, outcome.claim);
    return writeEndpoint(run, outcome.claim, request, address);
  };
}

/**
 * What to reconcile on taking the lease: every Cluster asking for an endpoint, and every Cluster an
 * endpoint claim names (one deleted while no leader ran has its claim released).
 */
export function endpointKeysToReconcile(ctx: ControllerContext): string[] {
  const keys = new Set(ctx.claims.indexValues(CLAIM_ENDPOINT_INDEX));
  for (const c of ctx.clusters?.list() ?? [])
    if (c.metadata.annotations?.[ANNOTATION_ENDPOINT_POOL] !== undefined) keys.add(objectKey(c));
  return [...keys];
}

/** No address yet: the claim's own Ready says why, and the Cluster hears it too. */
async function reportWaiting(run: EndpointRun, claim: LiveClaim): Promise<Step> {
  const ready = claimReady(run.ctx, claim);
  // The claim flow has not answered yet, or has just bound it (its status write brings us back).
  if (!ready?.reason || ready.reason === Reasons.AddressAllocated) return;
  const message = `IPAddressClaim ${objectKey(claim)} has no address yet: ${ready.message || ready.reason}. The control-plane endpoint waits for it`;
  if (record(run, 'Warning', ready.reason, message)) run.log.info({ reason: ready.reason }, message);
  return;
}

async function writeEndpoint(
  run: EndpointRun,
  claim: LiveClaim,
  request: EndpointRequest,
  address: string,
): Promise<Step> {
  const plan = planEndpoint(run.cluster, address, request, objectKey(claim));
  if (plan.kind === 'conflict') return refuse(run, claim, plan.reason, plan.message);
  if (plan.kind === 'write') {
    if (!(await patchCluster(run, claim, plan))) return;
  } else if (plan.unpauseLeft) {
    record(
      run,
      'Normal',
      EndpointEvents.UnpauseSkipped,
      'spec.paused is left as it is: this controller lifts it only in the write that fills spec.controlPlaneEndpoint, and the endpoint was set already',
    );
  }
  // Refusals are over: the next one is news again.
  run.state.said.delete(`${run.key}\0Warning`);
  await setClaimCondition(run, claim, {
    type: ENDPOINT_SET,
    status: 'True',
    reason: 'EndpointSet',
    message: `the control-plane endpoint of Cluster ${run.key} is ${address}`,
  });
  return;
}

/**
 * One merge patch of only the fields this flow owns, guarded by the resourceVersion it planned
 * from: endpoint, variable and unpause land together or not at all. False when nothing was written.
 */
async function patchCluster(
  run: EndpointRun,
  claim: LiveClaim,
  plan: Extract<EndpointPlan, { kind: 'write' }>,
): Promise<boolean> {
  const { ctx, cluster } = run;
  const what = plan.written.join(' and ');
  let patched: LiveCluster;
  try {
    patched = await ctx.client.patch<LiveCluster>(run.resource, cluster.metadata.name ?? '', plan.patch, {
      namespace: cluster.metadata.namespace,
      fieldManager: ctx.fieldManager,
      signal: run.signal,
    });
  } catch (err) {
    // Conflict: the Cluster changed since it was read (someone may have set the endpoint); the
    // retry plans again from the newer copy. A Cluster gone meanwhile comes back as a delete.
    if (isNotFound(err)) return false;
    if (!isRefused(err)) throw err;
    await refuse(
      run,
      claim,
      EndpointReasons.PatchRefused,
      `writing ${what} was refused: ${(err as Error).message}`,
    );
    return false;
  }
  const rv = patched.metadata?.resourceVersion;
  if (rv) run.state.written.set(run.key, rv);
  ctx.metrics.clusterEndpoints.inc({ action: 'written' });
  run.log.info({ IPAddressClaim: objectKey(claim), unpaused: plan.unpause }, `wrote ${what}`);
  ctx.recorder.normal(
    cluster,
    EndpointEvents.Written,
    `Wrote ${what} from IPAddressClaim ${objectKey(claim)}`,
  );
  if (plan.unpause) {
    ctx.metrics.clusterEndpoints.inc({ action: 'unpaused' });
    const held = isPaused(cluster)
      ? `; its ${ANNOTATION_PAUSED} annotation still pauses it, and is left to whoever set it`
      : '';
    const message = `Set spec.paused to false: the control-plane endpoint is written${held}`;
    ctx.recorder.normal(cluster, EndpointEvents.Unpaused, message);
  }
  return true;
}

/** Left alone: a warning Event on the Cluster (once), and the reason on the claim, if there is one. */
async function refuse(
  run: EndpointRun,
  claim: LiveClaim | undefined,
  reason: string,
  message: string,
): Promise<Step> {
  if (record(run, 'Warning', reason, message)) {
    run.ctx.metrics.clusterEndpoints.inc({ action: 'refused' });
    run.log.info({ reason }, message);
  }
  if (claim) await setClaimCondition(run, claim, { type: ENDPOINT_SET, status: 'False', reason, message });
  return;
}

/** Records an Event on the Cluster unless it is the last one of its type; true if recorded. */
function record(run: EndpointRun, type: 'Normal' | 'Warning', reason: string, message: string): boolean {
  const slot = `${run.key}\0${type}`;
  const said = `${reason}\0${message}`;
  if (run.state.said.get(slot) === said) return false;
  run.state.said.set(slot, said);
  run.ctx.recorder.event(run.cluster, type, reason, message);
  return true;
}

function forget(state: EndpointState, key: string): void {
  state.said.delete(`${key}\0Warning`);
  state.said.delete(`${key}\0Normal`);
  state.written.delete(key);
  state.owners.delete(key);
}

/** A Cluster our own write made newer than the cache: its update is on its way, and brings us back. */
function cacheBehindOwnWrite(state: EndpointState, key: string, cluster: LiveCluster): boolean {
  const ours = state.written.get(key);
  if (ours === undefined) return false;
  const order = compareResourceVersions(cluster.metadata.resourceVersion, ours);
  if (order !== undefined && order < 0) return true;
  state.written.delete(key);
  return false;
}

/** A definite refusal (4xx) that a retry does not change; 408, 409 and 429 are worth one. */
function isRefused(err: unknown): boolean {
  return (
    err instanceof KubeApiError &&
    err.code >= 400 &&
    err.code < 500 &&
    err.code !== 408 &&
    err.code !== 409 &&
    err.code !== 429
  );
}
