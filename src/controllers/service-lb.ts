/**
 * Load-balancer addresses for Services, from the same pools as Cluster API's claims. A served
 * Service (`type: LoadBalancer`, of --service-lb-class, or of no class with --service-lb-default)
 * gets one IPAddressClaim; once the claim flow bound it, its address goes into the Service's
 * status.loadBalancer.ingress and, for kube-vip to announce it, into the annotation and label that
 * kube-vip-cloud-provider writes. This controller never allocates: it makes, labels and owns a
 * claim and reads back what the claim flow wrote, so the one place that proves no address goes out
 * twice stays the only one.
 *
 * The steps, top-down: the Service gone or no longer served → its claims released and what we
 * wrote taken off; its sharing group's verdict; the claims it no longer needs given up; per IP
 * family, the address it asks for and its claim (service-lb-claims.ts); the bound addresses
 * written, or why there are none (yet).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { IPFamily } from '../ip/index.js';
import {
  type Cache,
  compareResourceVersions,
  isNotFound,
  type ReconcileResult,
  type Reconciler,
  type ResourceDescriptor,
  splitObjectKey,
} from '../kube/index.js';
import { ANNOTATION_REQUESTED_ADDRESS } from './chosen-address.js';
import { isDeleting, objectKey } from './claim-rules.js';
import type { ControllerContext, LiveClaim } from './context.js';
import {
  ensureSlot,
  type Run,
  record,
  releaseClaims,
  type ServiceLbState,
  type SlotOutcome,
} from './service-lb-claims.js';
import {
  announcePatch,
  cleanupPatches,
  isServed,
  type LiveService,
  ServiceEvents,
  type ServiceLbOptions,
  ServiceReasons,
  statusPatch,
} from './service-lb-rules.js';
import { sharerOf, sharingVerdicts } from './service-lb-sharing.js';
import {
  type Pin,
  pinOf,
  SERVICE_LB_CONDITION,
  SERVICE_SHARING_INDEX,
  type ServiceSlot,
  serviceFamilies,
  serviceSlots,
  sharedClaimName,
} from './service-lb-slots.js';

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

export function serviceLbReconciler(
  ctx: ControllerContext,
  services: Cache<LiveService>,
  options: ServiceLbOptions,
  log: Logger,
  /** Services refused for want of a pool, woken when a pool frees an address or is (re)built. */
  waitingForPool: Set<string>,
): Reconciler<string> {
  const state: ServiceLbState = { said: new Map(), written: new Map(), served: new Set() };
  return async (key, signal) => {
    const { namespace = '', name } = splitObjectKey(key);
    const runLog = log.child({ Service: { name, namespace }, namespace, name, reconcileID: randomUUID() });
    const svc = services.get(key);
    if (!svc) {
      forget(state, key);
      await releaseClaims(ctx, services, key, undefined, new Set(), 'the Service is gone', signal, runLog);
      return;
    }
    if (cacheBehindOwnWrite(state, key, svc)) return;
    const run: Run = { ctx, services, state, key, svc, signal, log: runLog };
    if (!isServed(svc, options)) {
      // Type changed away from LoadBalancer, or a class we served changed: release. A class we
      // never saw served (a flag left out at a restart) keeps what it has.
      if (svc.spec?.type === 'LoadBalancer' && !state.served.has(key)) return;
      return release(run);
    }
    state.served.add(key);
    // A Service on its way out gets nothing new; its claims go once it is gone.
    if (isDeleting(svc)) return;
    const slots = serviceSlots(svc);
    const pins = new Map(slots.map((s) => [s.family, pinOf(svc, s.family)] as const));
    const conflict = slots[0]?.shared ? sharingConflict(run, options, slots, pins) : undefined;
    // Claims of families or keys the Service no longer has are given up first: an address it
    // moves with it (its own, to a shared claim) is then free for the new claim to take.
    const keep = new Set(conflict ? [] : slots.map((s) => s.claimName));
    const why = conflict ? 'it may not share the address' : 'the Service no longer uses that claim';
    const left = await releaseClaims(ctx, services, key, svc, keep, why, signal, runLog);
    for (const message of left) record(run, 'Normal', ServiceEvents.Released, message, 'released');
    if (conflict) return unassign(run, ServiceReasons.SharingConflict, conflict);
    const outcomes: SlotOutcome[] = [];
    for (const slot of slots) outcomes.push(await ensureSlot(run, slot, pins.get(slot.family)));
    const noPool = outcomes.some((o) => 'refused' in o && o.refused.reason === ServiceReasons.NoPool);
    if (noPool) waitingForPool.add(key);
    else waitingForPool.delete(key);
    await settle(run, outcomes);
    return noPool ? { requeueAfterMs: NO_POOL_RETRY_MS } : undefined;
  };
}

/**
 * This Service's verdict in its sharing group: a message when it may not share (it then gets no
 * address), undefined when it may. Members are the owners of the group's claims.
 */
function sharingConflict(
  run: Run,
  options: ServiceLbOptions,
  slots: ServiceSlot[],
  pins: Map<IPFamily | undefined, Pin>,
): string | undefined {
  const { ctx, svc } = run;
  const key = slots[0]?.shared;
  if (!key) return undefined;
  const namespace = svc.metadata.namespace ?? '';
  const members = new Set<string>();
  const held = new Map<IPFamily | undefined, string>();
  for (const family of [4, 6, undefined] as const) {
    const claim = ctx.claims.get(`${namespace}/${sharedClaimName(key, family)}`);
    if (!claim || isDeleting(claim)) continue;
    for (const r of claim.metadata.ownerReferences ?? []) if (r.uid) members.add(r.uid);
    const ref = claim.status?.addressRef?.name;
    const bound = ref ? ctx.addresses.get(`${namespace}/${ref}`)?.spec?.address : undefined;
    const asked = bound ?? claim.metadata.annotations?.[ANNOTATION_REQUESTED_ADDRESS];
    if (asked !== undefined) held.set(family, asked);
  }
  const group = run.services
    .byIndex(SERVICE_SHARING_INDEX, `${namespace}/${key.label}`)
    .filter((s) => isServed(s, options) && !isDeleting(s) && serviceSlots(s)[0]?.shared?.key === key.key);
  const sharers = group.map((s) =>
    s.metadata.uid === svc.metadata.uid
      ? sharerOf(s, members.has(s.metadata.uid ?? ''), pins)
      : sharerOf(
          s,
          members.has(s.metadata.uid ?? ''),
          new Map(serviceFamilies(s).map((f) => [f, pinOf(s, f)] as const)),
        ),
  );
  return sharingVerdicts(sharers, key, held).get(run.key);
}

/**
 * What the Service gets from its slots' outcomes: every address bound, written; or, when none is
 * (or RequireDualStack misses one), why not. PreferDualStack takes what the pools can give.
 */
async function settle(run: Run, outcomes: SlotOutcome[]): Promise<Step> {
  type Bound = { slot: ServiceSlot; claim: LiveClaim; address: string };
  const bound = outcomes.filter((o): o is SlotOutcome & Bound => 'address' in o && !!o.address);
  const missing = outcomes.filter((o) => !('address' in o && o.address));
  const require = run.svc.spec?.ipFamilyPolicy === 'RequireDualStack' && outcomes.length > 1;
  const problem = missing.map((o) => ({ o, why: whyNot(o) })).find((m) => m.why !== undefined);
  if (bound.length === 0 || (require && missing.length > 0)) {
    if (!problem?.why) {
      // The claim flow has not answered yet (its status write brings us back): nothing to say,
      // unless the Service had an address and lost it (its claim deleted under it).
      const had = run.svc.status?.conditions?.some(
        (c) => c.type === SERVICE_LB_CONDITION && c.status === 'True',
      );
      return had ? unassign(run, ServiceReasons.Waiting, waitingMessage(missing)) : undefined;
    }
    const family = require
      ? `RequireDualStack, and there is no ${familyName(problem.o.slot.family)} address: `
      : '';
    return unassign(run, problem.why.reason, `${family}${problem.why.message}`);
  }
  const addresses = bound.map((o) => o.address);
  const from = bound.map(
    (o) =>
      `${o.address} from ${o.claim.spec.poolRef.kind} ${o.claim.spec.poolRef.name} (IPAddressClaim ${objectKey(o.claim)})`,
  );
  const short = missing.map(
    (o) => `no ${familyName(o.slot.family)} address: ${whyNot(o)?.message ?? 'waiting for it'}`,
  );
  const rest = short.length ? `; ${short.join('; ')}` : '';
  const message = `the load-balancer address${addresses.length > 1 ? 'es are' : ' is'} ${from.join(', ')}${rest}`;
  return assign(run, addresses, message, `Assigned ${from.join(', ')}${rest}`);
}

const familyName = (f: IPFamily | undefined) => (f === undefined ? '' : `IPv${f}`);

function whyNot(o: SlotOutcome): { reason: string; message: string } | undefined {
  if ('refused' in o) return o.refused;
  if ('pending' in o && o.pending)
    return {
      reason: o.pending.reason,
      message: `IPAddressClaim ${objectKey(o.claim)} has no address yet: ${o.pending.message}`,
    };
  return undefined;
}

function waitingMessage(missing: SlotOutcome[]): string {
  const claims = missing.flatMap((o) => ('claim' in o ? [`IPAddressClaim ${objectKey(o.claim)}`] : []));
  return claims.length
    ? `${claims.join(', ')} ${claims.length > 1 ? 'have' : 'has'} no address yet`
    : 'waiting for the claim of its address';
}

/** The bound addresses announced (annotation and label) and written into the Service's status. */
async function assign(run: Run, addresses: string[], message: string, event: string): Promise<Step> {
  const announce = announcePatch(run.svc, addresses);
  if (announce) {
    const patched = await patchService(run, announce, undefined);
    if (!patched) return;
    run.svc = patched;
  }
  const wrote = await writeStatus(run, addresses, ServiceReasons.Assigned, message, true);
  // Refusals are over: the next one is news again.
  run.state.said.delete(`${run.key}\0Warning`);
  if (wrote && record(run, 'Normal', ServiceEvents.Assigned, event)) {
    run.ctx.metrics.serviceLoadBalancers.inc({ action: 'assigned' });
    run.log.info({ addresses }, `load-balancer address ${addresses.join(', ')} assigned`);
  }
  return;
}

/**
 * Left without an address: what we announced taken off (a Service that had one and lost it, a
 * sharer that may no longer share), a warning Event (once) and our condition False with the reason.
 */
async function unassign(run: Run, reason: string, message: string): Promise<Step> {
  const { metadata, status } = cleanupPatches(run.svc, true);
  if (status && !(await applyCleanup(run, metadata, status))) return;
  if (record(run, 'Warning', reason, message)) {
    run.ctx.metrics.serviceLoadBalancers.inc({ action: 'refused' });
    run.log.info({ reason }, message);
  }
  await writeStatus(run, undefined, reason, message, false);
  return;
}

/** No longer served: the claims go (which releases their addresses), then what we wrote on the Service. */
async function release(run: Run): Promise<Step> {
  const { ctx, svc } = run;
  const why = 'the Service is no longer served';
  const released = await releaseClaims(ctx, run.services, run.key, svc, new Set(), why, run.signal, run.log);
  for (const message of released) record(run, 'Normal', ServiceEvents.Released, message, 'released');
  run.state.served.delete(run.key);
  const { metadata, status } = cleanupPatches(svc);
  if (status && !(await applyCleanup(run, metadata, status))) return;
  // Released: a later assignment or refusal is news again.
  if (released.length > 0 || status) {
    run.state.said.delete(`${run.key}\0Warning`);
    run.state.said.delete(`${run.key}\0Normal`);
  }
  return;
}

/** The status part of a cleanup, then its metadata part on the newer Service; false if it is gone. */
async function applyCleanup(run: Run, metadata: object | undefined, status: object): Promise<boolean> {
  const patched = await patchService(run, status, 'status');
  if (!patched) return false;
  run.svc = patched;
  if (!metadata) return true;
  const withRv = {
    metadata: {
      ...(metadata as { metadata: object }).metadata,
      resourceVersion: run.svc.metadata.resourceVersion,
    },
  };
  const done = await patchService(run, withRv, undefined);
  if (done) run.svc = done;
  return done !== undefined;
}

/** Ingress (when given) and our condition, in one status write; true when something was written. */
async function writeStatus(
  run: Run,
  addresses: string[] | undefined,
  reason: string,
  message: string,
  ok: boolean,
): Promise<boolean> {
  const condition = { type: SERVICE_LB_CONDITION, status: ok ? 'True' : 'False', reason, message } as const;
  const patch = statusPatch(run.svc, addresses, condition);
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

function forget(state: ServiceLbState, key: string): void {
  for (const slot of state.said.keys()) if (slot.startsWith(`${key}\0`)) state.said.delete(slot);
  state.written.delete(key);
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
