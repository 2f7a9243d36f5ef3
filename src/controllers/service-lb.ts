/**
 * Load-balancer addresses for Services, from the same pools as Cluster API's claims. A served
 * Service (`type: LoadBalancer`, of --service-lb-class, or of no class with --service-lb-default)
 * gets one IPAddressClaim; once the claim flow bound it, its address goes into the Service's
 * status.loadBalancer.ingress and, for kube-vip to announce it, into the annotation and label that
 * kube-vip-cloud-provider writes. This controller never allocates: it makes, labels and owns a
 * claim and reads back what the claim flow wrote, so the one place that proves no address goes out
 * twice stays the only one.
 *
 * The steps, top-down: the Service gone or no longer served → its claim released and what we wrote
 * taken off; the address it asks for; its claim (the pool chosen once, as the claim is made); the
 * bound address; the writes, or why there is no address yet.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import {
  type Cache,
  compareResourceVersions,
  isAlreadyExists,
  isNotFound,
  type ReconcileResult,
  type Reconciler,
  type ResourceDescriptor,
  splitObjectKey,
} from '../kube/index.js';
import { ANNOTATION_REQUESTED_ADDRESS } from './chosen-address.js';
import { isDeleting, objectKey } from './claim-rules.js';
import { claimReady, Reasons } from './claim-status.js';
import { boundAddressOf, deleteOwnClaim, getOrUndefined, ownershipKey } from './consumer-claims.js';
import type { ControllerContext, LiveClaim } from './context.js';
import type { PoolObject } from './pool-state.js';
import {
  announcePatch,
  CLAIM_SERVICE_INDEX,
  choosePool,
  cleanupPatches,
  desiredServiceClaim,
  isServed,
  type LiveService,
  type PoolCandidate,
  requestedServiceAddress,
  SERVICE_LB_CONDITION,
  ServiceEvents,
  type ServiceLbOptions,
  ServiceReasons,
  serviceClaimName,
  serviceClaimOwnership,
  statusPatch,
} from './service-lb-rules.js';

export const SERVICE_LB_CONTROLLER = 'servicelb';
export const SERVICE_LB_CONTROLLER_KEYS = {
  controller: SERVICE_LB_CONTROLLER,
  controllerGroup: '',
  controllerKind: 'Service',
};

export const SERVICE_RESOURCE: ResourceDescriptor = {
  group: '',
  version: 'v1',
  plural: 'services',
  namespaced: true,
  kind: 'Service',
};

/**
 * No pool could be chosen: look again after this long. A pool made, changed or freed wakes the
 * Service sooner (`waitingForPool`); a pool only relabelled does not.
 */
const NO_POOL_RETRY_MS = 15_000;

type Step = ReconcileResult | undefined;

/** What the reconciler remembers between reconciles; all of it may be lost (a restart) safely. */
interface ServiceLbState {
  /** Service key + Event type → the last Event recorded, so a wake-up that changes nothing records nothing. */
  said: Map<string, string>;
  /** Service key → `<Service uid>/<claim uid>` seen owned (cached claims keep no owner references). */
  owners: Map<string, string>;
  /** Service key → resourceVersion our last write returned, until the cache has it. */
  written: Map<string, string>;
  /**
   * Services seen served by this process. One whose class changed away is released; one of a
   * class we do not serve that we never saw served is not: a flag left out at a restart must not
   * take VIPs down.
   */
  served: Set<string>;
}

interface Run {
  ctx: ControllerContext;
  state: ServiceLbState;
  key: string;
  svc: LiveService;
  signal: AbortSignal;
  log: Logger;
}

export function serviceLbReconciler(
  ctx: ControllerContext,
  services: Cache<LiveService>,
  options: ServiceLbOptions,
  log: Logger,
  /** Services refused for want of a pool, woken when a pool frees an address or is (re)built. */
  waitingForPool: Set<string>,
): Reconciler<string> {
  const state: ServiceLbState = { said: new Map(), owners: new Map(), written: new Map(), served: new Set() };
  return async (key, signal) => {
    const { namespace = '', name } = splitObjectKey(key);
    const runLog = log.child({ Service: { name, namespace }, namespace, name, reconcileID: randomUUID() });
    const svc = services.get(key);
    if (!svc) {
      forget(state, key);
      await releaseClaims(ctx, key, undefined, signal, runLog);
      return;
    }
    if (cacheBehindOwnWrite(state, key, svc)) return;
    const run: Run = { ctx, state, key, svc, signal, log: runLog };
    if (!isServed(svc, options)) {
      // Type changed away from LoadBalancer, or a class we served changed: release. A class we
      // never saw served (a flag left out at a restart) keeps what it has.
      if (svc.spec?.type === 'LoadBalancer' && !state.served.has(key)) return;
      return release(run);
    }
    state.served.add(key);
    // A Service on its way out gets nothing new; its claim goes once it is gone.
    if (isDeleting(svc)) return;
    const requested = requestedServiceAddress(svc);
    if (typeof requested === 'object') return refuse(run, requested.reason, requested.message);
    const outcome = await ensureClaim(run, requested);
    if ('waiting' in outcome) return;
    if ('refused' in outcome) {
      await refuse(run, outcome.refused.reason, outcome.refused.message);
      if (outcome.refused.reason === ServiceReasons.NoPool) waitingForPool.add(key);
      return outcome.refused.reason === ServiceReasons.NoPool
        ? { requeueAfterMs: NO_POOL_RETRY_MS }
        : undefined;
    }
    waitingForPool.delete(key);
    const address = await boundAddressOf(ctx, outcome.claim, signal);
    if (address === undefined) return reportWaiting(run, outcome.claim);
    return assign(run, outcome.claim, address);
  };
}

type ClaimOutcome =
  | { claim: LiveClaim }
  | { refused: { reason: string; message: string } }
  | { waiting: true };

/**
 * The Service's one claim, made under the Service's own name so that a create the cache has not
 * shown yet answers AlreadyExists instead of making a second claim. Its pool is chosen here, once:
 * an IPAddress never changes pools.
 */
async function ensureClaim(run: Run, requested: string | undefined): Promise<ClaimOutcome> {
  const { ctx, svc } = run;
  const namespace = svc.metadata.namespace ?? '';
  const name = serviceClaimName(svc.metadata.name ?? '');
  let claim = ctx.claims.get(`${namespace}/${name}`);
  if (!claim) {
    const candidates: PoolCandidate[] = [...ctx.registry.all()].map((p) => ({
      kind: p.kind,
      namespace: p.pool.metadata?.namespace,
      name: p.pool.metadata?.name ?? '',
      labels: p.pool.metadata?.labels,
      addresses: (p.pool as PoolObject & { spec?: { addresses?: string[] } }).spec?.addresses ?? [],
      namespaceSelector: p.namespaceSelector,
      valid: p.valid,
      free: p.counts().free,
    }));
    const labels = ctx.namespaces.get(namespace)?.metadata.labels;
    const choice = choosePool(svc, candidates, labels, requested);
    if ('refused' in choice) return { refused: choice };
    claim = await createClaim(run, choice.pool, requested);
    if (!claim) return { waiting: true };
  }
  const owned = await ownedByService(run, claim);
  if (owned !== true) return owned;
  // A pin asked for after the claim was made, before it is bound: the claim flow honours it. A
  // bound claim keeps its address (an IPAddress never changes), so a later pin changes nothing.
  if (
    !claim.status?.addressRef?.name &&
    claim.metadata.annotations?.[ANNOTATION_REQUESTED_ADDRESS] !== requested
  ) {
    claim = await ctx.client.patch<LiveClaim>(
      ctx.claimResource,
      name,
      { metadata: { annotations: { [ANNOTATION_REQUESTED_ADDRESS]: requested ?? null } } },
      { namespace, fieldManager: ctx.fieldManager, signal: run.signal },
    );
  }
  return { claim };
}

async function createClaim(
  run: Run,
  pool: { kind: string; name: string },
  requested: string | undefined,
): Promise<LiveClaim | undefined> {
  const { ctx, svc } = run;
  const desired = desiredServiceClaim(svc, pool, requested, ctx.capiApiVersion, ctx.watchFilter);
  let created: LiveClaim;
  try {
    created = await ctx.client.create<LiveClaim>(ctx.claimResource, desired as LiveClaim, {
      fieldManager: ctx.fieldManager,
      signal: run.signal,
    });
  } catch (err) {
    // Made before (by us, and not cached yet) or by someone else: ownedByService tells which.
    if (!isAlreadyExists(err)) throw err;
    return getOrUndefined(
      ctx.client.get<LiveClaim>(
        ctx.claimResource,
        desired.metadata?.name ?? '',
        svc.metadata.namespace,
        run.signal,
      ),
    );
  }
  run.state.owners.set(run.key, ownershipKey(svc, created));
  const claimKey = objectKey(created);
  const from = `${pool.kind} ${pool.name}`;
  ctx.metrics.serviceLoadBalancers.inc({ action: 'claimed' });
  run.log.info(
    { IPAddressClaim: claimKey, pool: from },
    `IPAddressClaim ${claimKey} created for the Service`,
  );
  ctx.recorder.normal(
    svc,
    ServiceEvents.Claimed,
    `Claiming the load-balancer address from ${from}${requested ? ` (requested ${requested})` : ''}: IPAddressClaim ${claimKey}`,
  );
  return created;
}

/**
 * Only a claim this Service owns is used. One left by an earlier Service of the same name is
 * deleted (the garbage collector would; we do not wait for it); one someone else made under our
 * name is left alone.
 */
async function ownedByService(run: Run, claim: LiveClaim): Promise<true | ClaimOutcome> {
  const { ctx, svc, state } = run;
  if (state.owners.get(run.key) === ownershipKey(svc, claim)) return true;
  const { name = '', namespace } = claim.metadata;
  const full =
    claim.metadata.ownerReferences !== undefined
      ? claim
      : await getOrUndefined(ctx.client.get<LiveClaim>(ctx.claimResource, name, namespace, run.signal));
  if (!full) return { waiting: true };
  const owner = serviceClaimOwnership(full, svc);
  if (owner === 'this') {
    state.owners.set(run.key, ownershipKey(svc, full));
    return true;
  }
  if (owner === 'earlier') {
    if (!isDeleting(full)) await deleteOwnClaim(ctx, full, run.signal);
    return { waiting: true };
  }
  const message = `IPAddressClaim ${objectKey(full)} exists and is not this Service's (it has no owner reference to it): it is left alone, and the Service waits until that claim is renamed or deleted`;
  return { refused: { reason: ServiceReasons.ClaimNameTaken, message } };
}

/** No address yet: the claim's Ready says why, and so does the Service's condition. */
async function reportWaiting(run: Run, claim: LiveClaim): Promise<Step> {
  const ready = claimReady(run.ctx, claim);
  const claimKey = objectKey(claim);
  // The claim flow has not answered yet, or has just bound it (its status write brings us back).
  if (ready?.reason === Reasons.AddressAllocated) return;
  const reason = ready?.reason || ServiceReasons.Waiting;
  const message = `IPAddressClaim ${claimKey} has no address yet${ready?.message ? `: ${ready.message}` : ''}`;
  if (ready?.reason) return refuse(run, reason, message);
  await writeStatus(run, undefined, { type: SERVICE_LB_CONDITION, status: 'False', reason, message });
  return;
}

/** The bound address announced (annotation and label) and written into the Service's status. */
async function assign(run: Run, claim: LiveClaim, address: string): Promise<Step> {
  const { ctx } = run;
  const announce = announcePatch(run.svc, address);
  if (announce) {
    const patched = await patchService(run, announce, undefined);
    if (!patched) return;
    run.svc = patched;
  }
  const message = `the load-balancer address is ${address}, from ${claim.spec.poolRef.kind} ${claim.spec.poolRef.name} (IPAddressClaim ${objectKey(claim)})`;
  const wrote = await writeStatus(run, address, {
    type: SERVICE_LB_CONDITION,
    status: 'True',
    reason: ServiceReasons.Assigned,
    message,
  });
  // Refusals are over: the next one is news again.
  run.state.said.delete(`${run.key}\0Warning`);
  if (wrote && record(run, 'Normal', ServiceEvents.Assigned, `Assigned ${message}`)) {
    ctx.metrics.serviceLoadBalancers.inc({ action: 'assigned' });
    run.log.info({ IPAddressClaim: objectKey(claim), address }, `load-balancer address ${address} assigned`);
  }
  return;
}

/** Left without an address: a warning Event (once) and our condition False with the reason. */
async function refuse(run: Run, reason: string, message: string): Promise<Step> {
  if (record(run, 'Warning', reason, message)) {
    run.ctx.metrics.serviceLoadBalancers.inc({ action: 'refused' });
    run.log.info({ reason }, message);
  }
  await writeStatus(run, undefined, { type: SERVICE_LB_CONDITION, status: 'False', reason, message });
  return;
}

/** No longer served: the claim goes (which releases its address), then what we wrote on the Service. */
async function release(run: Run): Promise<Step> {
  const { ctx, svc } = run;
  const released = await releaseClaims(ctx, run.key, svc, run.signal, run.log);
  run.state.served.delete(run.key);
  run.state.owners.delete(run.key);
  const { metadata, status } = cleanupPatches(svc);
  if (status) {
    const patched = await patchService(run, status, 'status');
    if (!patched) return;
    run.svc = patched;
  }
  if (metadata) {
    const withRv = {
      metadata: {
        ...(metadata as { metadata: object }).metadata,
        resourceVersion: run.svc.metadata.resourceVersion,
      },
    };
    if (!(await patchService(run, withRv, undefined))) return;
  }
  // Released: a later assignment or refusal is news again.
  if (released || status) {
    run.state.said.delete(`${run.key}\0Warning`);
    run.state.said.delete(`${run.key}\0Normal`);
  }
  return;
}

/**
 * Deletes the Service's claims (this very claim, by uid), not waiting for the garbage collector.
 * True when one was deleted.
 */
async function releaseClaims(
  ctx: ControllerContext,
  key: string,
  svc: LiveService | undefined,
  signal: AbortSignal,
  log: Logger,
): Promise<boolean> {
  const { name } = splitObjectKey(key);
  const claims = ctx.claims
    .byIndex(CLAIM_SERVICE_INDEX, key)
    .filter((c) => c.metadata.name === serviceClaimName(name) && !isDeleting(c));
  let released = false;
  for (const claim of claims) {
    const address = await boundAddressOf(ctx, claim, signal);
    if (!(await deleteOwnClaim(ctx, claim, signal))) continue;
    released = true;
    ctx.metrics.serviceLoadBalancers.inc({ action: 'released' });
    const why = svc ? 'the Service is no longer served' : 'the Service is gone';
    const message = `Released ${address ?? 'the claimed address'}: ${why}, IPAddressClaim ${objectKey(claim)} deleted`;
    log.info({ IPAddressClaim: objectKey(claim), address }, message);
    if (svc) ctx.recorder.normal(svc, ServiceEvents.Released, message);
  }
  return released;
}

/** Ingress (when given) and our condition, in one status write; true when something was written. */
async function writeStatus(
  run: Run,
  address: string | undefined,
  condition: { type: string; status: 'True' | 'False'; reason: string; message: string },
): Promise<boolean> {
  const patch = statusPatch(run.svc, address, condition);
  if (!patch) return false;
  const patched = await patchService(run, patch, 'status');
  if (patched) run.svc = patched;
  return patched !== undefined;
}

/**
 * One merge patch of only the fields this flow owns, guarded by the resourceVersion it was planned
 * from (a Conflict is retried from the newer copy); undefined when the Service is gone.
 */
async function patchService(
  run: Run,
  patch: object,
  subresource: 'status' | undefined,
): Promise<LiveService | undefined> {
  const { ctx, svc } = run;
  try {
    const patched = await ctx.client.patch<LiveService>(SERVICE_RESOURCE, svc.metadata.name ?? '', patch, {
      namespace: svc.metadata.namespace,
      fieldManager: ctx.fieldManager,
      signal: run.signal,
      ...(subresource ? { subresource } : {}),
    });
    const rv = patched.metadata?.resourceVersion;
    if (rv) run.state.written.set(run.key, rv);
    return patched;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** Records an Event on the Service unless it is the last one of its type; true if recorded. */
function record(run: Run, type: 'Normal' | 'Warning', reason: string, message: string): boolean {
  const slot = `${run.key}\0${type}`;
  const said = `${reason}\0${message}`;
  if (run.state.said.get(slot) === said) return false;
  run.state.said.set(slot, said);
  run.ctx.recorder.event(run.svc, type, reason, message);
  return true;
}

function forget(state: ServiceLbState, key: string): void {
  state.said.delete(`${key}\0Warning`);
  state.said.delete(`${key}\0Normal`);
  state.written.delete(key);
  state.owners.delete(key);
}

/** A Service our own write made newer than the cache: its update is on its way, and brings us back. */
function cacheBehindOwnWrite(state: ServiceLbState, key: string, svc: LiveService): boolean {
  const ours = state.written.get(key);
  if (ours === undefined) return false;
  const order = compareResourceVersions(svc.metadata.resourceVersion, ours);
  if (order !== undefined && order < 0) return true;
  state.written.delete(key);
  return false;
}
