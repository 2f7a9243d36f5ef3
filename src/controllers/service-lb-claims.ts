/**
 * The claims behind a Service's load-balancer addresses (service-lb.ts drives them): the one of
 * each family made, joined or found, and those it no longer needs given up — its own deleted, a
 * shared one left, and deleted with its last sharer. Never by waiting for the garbage collector.
 * Every write carries the uid or resourceVersion it was planned from: two Services of one group
 * reconciled at once, or a sharer joining as the last one leaves, lose a Conflict and plan again.
 */
import type { Logger } from 'pino';
import type { OwnerReference } from '../api/meta.js';
import { type Cache, isAlreadyExists, isConflict, isNotFound } from '../kube/index.js';
import { ANNOTATION_REQUESTED_ADDRESS } from './chosen-address.js';
import { isDeleting, objectKey } from './claim-rules.js';
import { claimReady, Reasons } from './claim-status.js';
import { boundAddressOf, deleteOwnClaim, getOrUndefined } from './consumer-claims.js';
import type { ControllerContext, LiveClaim } from './context.js';
import type { PoolObject } from './pool-state.js';
import { choosePool, namesPool, type PoolCandidate } from './service-lb-pools.js';
import {
  ANNOTATION_SERVICE_POOL,
  CLAIM_SERVICE_INDEX,
  desiredServiceClaim,
  LABEL_SERVICE_LB_OF,
  type LiveService,
  ServiceEvents,
  ServiceReasons,
  serviceClaimOwnership,
  serviceOwnerReference,
} from './service-lb-rules.js';
import { type Pin, pinnedAddress, type ServiceSlot } from './service-lb-slots.js';

/** What the reconciler remembers between reconciles; all of it may be lost (a restart) safely. */
export interface ServiceLbState {
  /** Service key + Event slot → the last Event recorded, so a wake-up that changes nothing records nothing. */
  said: Map<string, string>;
  /** Service key → resourceVersion our last write returned, until the cache has it. */
  written: Map<string, string>;
  /**
   * Services seen served by this process. One whose class changed away is released; one of a
   * class we do not serve that we never saw served is not: a flag left out at a restart must not
   * take VIPs down.
   */
  served: Set<string>;
}

export interface Run {
  ctx: ControllerContext;
  services: Cache<LiveService>;
  state: ServiceLbState;
  key: string;
  svc: LiveService;
  signal: AbortSignal;
  log: Logger;
}

/** How one address of a Service stands. */
export type SlotOutcome = { slot: ServiceSlot } & (
  | { claim: LiveClaim; address: string }
  /** Bound to nothing yet; `pending` is the claim flow's reason, if it gave one. */
  | { claim: LiveClaim; address?: undefined; pending: { reason: string; message: string } | undefined }
  | { refused: { reason: string; message: string } }
  | { waiting: true }
);

/** Records an Event on the Service unless the same one is the last of its slot; true if recorded. */
export function record(
  run: Run,
  type: 'Normal' | 'Warning',
  reason: string,
  message: string,
  slot: string = type,
): boolean {
  const at = `${run.key}\0${slot}`;
  const said = `${reason}\0${message}`;
  if (run.state.said.get(at) === said) return false;
  run.state.said.set(at, said);
  run.ctx.recorder.event(run.svc, type, reason, message);
  return true;
}

/**
 * The claim of one address of the Service: made (its pool chosen here, once: an IPAddress never
 * changes pools), joined, or found; with the address the claim flow bound to it, if any.
 */
export async function ensureSlot(run: Run, slot: ServiceSlot, pin: Pin): Promise<SlotOutcome> {
  const { ctx, svc } = run;
  const namespace = svc.metadata.namespace ?? '';
  const badPin =
    pin && 'invalid' in pin
      ? { reason: ServiceReasons.InvalidRequestedAddress, message: pin.invalid }
      : pin && 'conflict' in pin
        ? { reason: ServiceReasons.ConflictingRequests, message: pin.conflict }
        : undefined;
  const requested = pinnedAddress(pin);
  let claim = ctx.claims.get(`${namespace}/${slot.claimName}`);
  if (!claim) {
    if (badPin) return { slot, refused: badPin };
    const labels = ctx.namespaces.get(namespace)?.metadata.labels;
    const choice = choosePool(svc, poolCandidates(ctx), labels, requested, slot.family, slot.primary);
    if ('refused' in choice) return { slot, refused: choice };
    claim = await createSlotClaim(run, slot, choice.pool, requested);
    if (!claim) return { slot, waiting: true };
  }
  const owned = await ownedByService(run, slot, claim);
  if (owned !== true) return owned;
  const address = await boundAddressOf(ctx, claim, run.signal);
  if (address !== undefined) {
    // An IPAddress never changes: a pin set after the address was bound changes nothing.
    if (requested !== undefined && pin && 'adopted' in pin && !pin.adopted && requested !== address)
      record(
        run,
        'Warning',
        ServiceEvents.PinIgnored,
        `${pin.source} asks for ${requested}, but the Service holds ${address} (IPAddressClaim ${objectKey(claim)}): a bound address is never moved; to change it, release it (see the Service load-balancer guide) and pin again`,
        `ignored\0${slot.claimName}`,
      );
    return { slot, claim, address };
  }
  if (badPin) return { slot, refused: badPin };
  // A pin asked for after the claim was made, before it is bound: the claim flow honours it. A
  // shared claim drops no pin (a sharer without one defers to the others').
  const current = claim.metadata.annotations?.[ANNOTATION_REQUESTED_ADDRESS];
  if (current !== requested && (!slot.shared || requested !== undefined)) {
    claim = await ctx.client.patch<LiveClaim>(
      ctx.claimResource,
      slot.claimName,
      {
        metadata: {
          resourceVersion: claim.metadata.resourceVersion,
          annotations: { [ANNOTATION_REQUESTED_ADDRESS]: requested ?? null },
        },
      },
      { namespace, fieldManager: ctx.fieldManager, signal: run.signal },
    );
  }
  const ready = claimReady(ctx, claim);
  const pending =
    ready?.reason && ready.reason !== Reasons.AddressAllocated
      ? { reason: ready.reason, message: ready.message ?? '' }
      : undefined;
  if (pending?.reason === Reasons.PoolExhausted && (await chooseAgain(run, slot, claim, requested)))
    return { slot, waiting: true };
  return { slot, claim, pending };
}

/**
 * A pool the Service did not name ran out before its claim got an address, and another labelled
 * pool has room: the claim goes (it holds nothing), and the next reconcile chooses again. Only its
 * own claim, without a pin: a pinned address is in one pool, and a shared claim is the group's.
 */
async function chooseAgain(
  run: Run,
  slot: ServiceSlot,
  claim: LiveClaim,
  requested: string | undefined,
): Promise<boolean> {
  const { ctx, svc } = run;
  if (
    slot.shared ||
    requested !== undefined ||
    svc.metadata.annotations?.[ANNOTATION_SERVICE_POOL] !== undefined
  )
    return false;
  const namespace = svc.metadata.namespace ?? '';
  const labels = ctx.namespaces.get(namespace)?.metadata.labels;
  const choice = choosePool(svc, poolCandidates(ctx), labels, undefined, slot.family, slot.primary);
  const { kind, name } = claim.spec.poolRef;
  if ('refused' in choice || (choice.pool.kind === kind && choice.pool.name === name)) return false;
  if (!(await deleteOwnClaim(ctx, claim, run.signal))) return false;
  run.log.info(
    { IPAddressClaim: objectKey(claim), pool: `${kind} ${name}` },
    `pool ${kind} ${name} ran out before the claim got an address: choosing again`,
  );
  return true;
}

function poolCandidates(ctx: ControllerContext): PoolCandidate[] {
  return [...ctx.registry.all()].map((p) => ({
    kind: p.kind,
    namespace: p.pool.metadata?.namespace,
    name: p.pool.metadata?.name ?? '',
    labels: p.pool.metadata?.labels,
    addresses: (p.pool as PoolObject & { spec?: { addresses?: string[] } }).spec?.addresses ?? [],
    namespaceSelector: p.namespaceSelector,
    valid: p.valid,
    free: p.counts().free,
  }));
}

/**
 * Made under a name of the Service's (or its key's), so that a create the cache has not shown yet
 * answers AlreadyExists instead of making a second claim.
 */
async function createSlotClaim(
  run: Run,
  slot: ServiceSlot,
  pool: { kind: string; name: string },
  requested: string | undefined,
): Promise<LiveClaim | undefined> {
  const { ctx, svc } = run;
  const desired = desiredServiceClaim(svc, slot, pool, requested, ctx.capiApiVersion, ctx.watchFilter);
  let created: LiveClaim;
  try {
    created = await ctx.client.create<LiveClaim>(ctx.claimResource, desired as LiveClaim, {
      fieldManager: ctx.fieldManager,
      signal: run.signal,
    });
  } catch (err) {
    // Made before (by us or a sharer, not cached yet) or by someone else: ownedByService tells which.
    if (!isAlreadyExists(err)) throw err;
    return getOrUndefined(
      ctx.client.get<LiveClaim>(ctx.claimResource, slot.claimName, svc.metadata.namespace, run.signal),
    );
  }
  const claimKey = objectKey(created);
  const from = `${pool.kind} ${pool.name}`;
  ctx.metrics.serviceLoadBalancers.inc({ action: 'claimed' });
  run.log.info(
    { IPAddressClaim: claimKey, pool: from },
    `IPAddressClaim ${claimKey} created for the Service`,
  );
  const shared = slot.shared ? ` shared by key "${slot.shared.key}"` : '';
  record(
    run,
    'Normal',
    ServiceEvents.Claimed,
    `Claiming the load-balancer address${shared} from ${from}${requested ? ` (requested ${requested})` : ''}: IPAddressClaim ${claimKey}`,
    `claimed\0${slot.claimName}`,
  );
  return created;
}

/**
 * Only a claim this Service owns is used. Its own left by an earlier Service of the same name is
 * deleted (the garbage collector would; we do not wait for it); its key's shared claim is joined;
 * one someone else made under the name is left alone.
 */
async function ownedByService(run: Run, slot: ServiceSlot, claim: LiveClaim): Promise<true | SlotOutcome> {
  const { ctx, svc } = run;
  const full =
    claim.metadata.ownerReferences !== undefined
      ? claim
      : await getOrUndefined(
          ctx.client.get<LiveClaim>(ctx.claimResource, slot.claimName, claim.metadata.namespace, run.signal),
        );
  if (!full) return { slot, waiting: true };
  const owner = serviceClaimOwnership(full, svc, slot);
  if (owner === 'this') return true;
  if (owner === 'earlier') {
    if (!isDeleting(full)) await deleteOwnClaim(ctx, full, run.signal);
    return { slot, waiting: true };
  }
  if (owner === 'group') {
    // Being deleted (its last sharer left): a new one is made once it is gone.
    if (isDeleting(full)) return { slot, waiting: true };
    // The group's address is in the first sharer's pool: one naming other pools cannot share it.
    const named = svc.metadata.annotations?.[ANNOTATION_SERVICE_POOL];
    const { kind, name } = full.spec.poolRef;
    if (named !== undefined && !namesPool(named, kind, name)) {
      const message = `the Services sharing key "${slot.shared?.key}" have their address from ${kind} ${name}, and annotation ${ANNOTATION_SERVICE_POOL} names ${named}: a Service sharing an address takes it from the group's pool`;
      return { slot, refused: { reason: ServiceReasons.SharingConflict, message } };
    }
    const owners = [...(full.metadata.ownerReferences ?? []), serviceOwnerReference(svc, false)];
    await setOwners(ctx, full, owners, run.signal);
    run.log.info({ IPAddressClaim: objectKey(full) }, `joined the shared IPAddressClaim ${objectKey(full)}`);
    return { slot, waiting: true };
  }
  const message = `IPAddressClaim ${objectKey(full)} exists and is not this Service's (${slot.shared ? `it is not the claim of sharing key "${slot.shared.key}"` : 'it has no owner reference to it'}): it is left alone, and the Service waits until that claim is renamed or deleted`;
  return { slot, refused: { reason: ServiceReasons.ClaimNameTaken, message } };
}

/** The claim's owners, replaced whole as they were read (a Conflict: read again). */
async function setOwners(
  ctx: ControllerContext,
  claim: LiveClaim,
  owners: OwnerReference[],
  signal: AbortSignal,
): Promise<void> {
  await ctx.client.patch<LiveClaim>(
    ctx.claimResource,
    claim.metadata.name ?? '',
    { metadata: { resourceVersion: claim.metadata.resourceVersion, ownerReferences: owners } },
    { namespace: claim.metadata.namespace, fieldManager: ctx.fieldManager, signal },
  );
}

/**
 * Gives up the claims of the Service `key` but those named in `keep`: its own deleted (this very
 * claim, by uid), a shared one left — and deleted when no sharer that still exists is left on it.
 * `svc` is the Service when it still exists. Returns the messages of what was released.
 */
export async function releaseClaims(
  ctx: ControllerContext,
  services: Cache<LiveService>,
  key: string,
  svc: LiveService | undefined,
  keep: ReadonlySet<string>,
  why: string,
  signal: AbortSignal,
  log: Logger,
): Promise<string[]> {
  const name = key.slice(key.indexOf('/') + 1);
  const released: string[] = [];
  for (const claim of ctx.claims.byIndex(CLAIM_SERVICE_INDEX, key)) {
    if (keep.has(claim.metadata.name ?? '') || isDeleting(claim)) continue;
    const address = await boundAddressOf(ctx, claim, signal);
    const what = `${address ?? 'the claimed address'} (IPAddressClaim ${objectKey(claim)})`;
    const refs = claim.metadata.ownerReferences ?? [];
    const shared = !claim.metadata.labels?.[LABEL_SERVICE_LB_OF];
    // This Service's references (or a gone one's of its name); a live sharer's stay.
    const mine = (r: OwnerReference) => r.kind === 'Service' && r.name === name && r.uid !== undefined;
    const others = refs.filter((r) => !mine(r));
    const alive = others.filter(
      (r) =>
        r.kind === 'Service' && services.get(`${claim.metadata.namespace}/${r.name}`)?.metadata.uid === r.uid,
    );
    if (shared && alive.length > 0) {
      if (others.length === refs.length) continue;
      await setOwners(ctx, claim, others, signal);
      const message = `Left the shared address ${what}: ${why}; ${alive.map((r) => `Service ${r.name}`).join(', ')} still ${alive.length === 1 ? 'holds' : 'hold'} it`;
      log.info({ IPAddressClaim: objectKey(claim), address }, message);
      released.push(message);
      continue;
    }
    if (!shared && svc && serviceClaimOwnership(claim, svc, { shared: undefined }) === 'none') continue;
    // The last sharer: deleted as it was read, so that a sharer joining meanwhile keeps it.
    const preconditions = shared
      ? { uid: claim.metadata.uid ?? '', resourceVersion: claim.metadata.resourceVersion ?? '' }
      : { uid: claim.metadata.uid ?? '' };
    try {
      await ctx.client.delete(ctx.claimResource, claim.metadata.name ?? '', claim.metadata.namespace, {
        preconditions,
        signal,
      });
    } catch (err) {
      if (isNotFound(err)) continue;
      if (isConflict(err) && !shared) continue;
      throw err;
    }
    ctx.metrics.serviceLoadBalancers.inc({ action: 'released' });
    const message = `Released ${what}: ${why}, the claim deleted`;
    log.info({ IPAddressClaim: objectKey(claim), address }, message);
    released.push(message);
  }
  return released;
}
