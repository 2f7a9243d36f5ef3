/**
 * Pure rules of the Service load-balancer flow (service-lb.ts): which Services are served, the
 * IPAddressClaims made for them and whose they are, and what is written back to the Service — or
 * taken off it once it is no longer served. Its addresses per family are service-lb-slots.ts's,
 * the pool choice service-lb-pools.ts's, sharing service-lb-sharing.ts's.
 */
import type { IPAddressClaim } from '../api/capi-types.js';
import { IPAM_GROUP, KIND_IP_ADDRESS_CLAIM, LABEL_WATCH_FILTER } from '../api/constants.js';
import type { ObjectMeta as ApiObjectMeta, Condition, OwnerReference } from '../api/meta.js';
import { ANNOTATION_REQUESTED_ADDRESS } from './chosen-address.js';
import { type ConditionInput, setCondition } from './conditions.js';
import type { Live, LiveClaim } from './context.js';
import {
  ANNOTATION_KUBE_VIP_IPS,
  ANNOTATION_SHARED_IP_KEY,
  LABEL_SERVICE_LB_SHARED_KEY,
  SERVICE_LB_CONDITION,
  type ServiceSlot,
} from './service-lb-slots.js';

/** `<Kind>/<name>` of the pool a Service's address comes from (a namespaced kind: its namespace). */
export const ANNOTATION_SERVICE_POOL = 'ipam.cluster.x-k8s.io/pool';
/** Pools labelled so serve Services that name no pool. */
export const LABEL_SERVICE_LB_POOL = 'ipam.cluster.x-k8s.io/service-lb';
/** On the claim: the name of the Service it is the address of. */
export const LABEL_SERVICE_LB_OF = 'ipam.cluster.x-k8s.io/service-lb-of';
export const LABEL_IMPLEMENTATION = 'implementation';
export const IMPLEMENTATION_KUBE_VIP = 'kube-vip';
/** The claims' index by the Service whose address they are (`namespace/name`). */
export const CLAIM_SERVICE_INDEX = 'serviceLbOf';

/** A Service's own claim by its label; a shared claim by every Service owning it. */
export function claimServiceIndex(claim: LiveClaim): string[] {
  const { labels, namespace, ownerReferences } = claim.metadata;
  const of = labels?.[LABEL_SERVICE_LB_OF];
  if (of) return [`${namespace}/${of}`];
  if (labels?.[LABEL_SERVICE_LB_SHARED_KEY] === undefined) return [];
  return (ownerReferences ?? []).filter(isServiceRef).map((r) => `${namespace}/${r.name}`);
}

const isServiceRef = (r: OwnerReference) => r.kind === 'Service' && r.apiVersion === 'v1';

export const ServiceEvents = {
  Claimed: 'LoadBalancerAddressClaimed',
  Assigned: 'LoadBalancerAddressAssigned',
  Released: 'LoadBalancerAddressReleased',
  /** A bound Service's pin changed: its address is kept (as for claims). */
  PinIgnored: 'RequestedAddressIgnored',
} as const;

export const ServiceReasons = {
  Assigned: 'AddressAssigned',
  Waiting: 'WaitingForAddress',
  InvalidPoolAnnotation: 'InvalidPoolAnnotation',
  NoPool: 'NoPoolAvailable',
  ConflictingRequests: 'ConflictingRequestedAddresses',
  ClaimNameTaken: 'LoadBalancerClaimNameTaken',
  SharingConflict: 'SharingConflict',
  InvalidRequestedAddress: 'InvalidRequestedAddress',
} as const;

/** What of a core v1 Service this flow reads and writes. */
export interface ServiceObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ApiObjectMeta;
  spec?: {
    type?: string;
    loadBalancerClass?: string;
    loadBalancerIP?: string;
    ipFamilies?: string[];
    ipFamilyPolicy?: string;
    ports?: { port?: number; protocol?: string }[];
    externalTrafficPolicy?: string;
    selector?: Record<string, string>;
  };
  status?: {
    loadBalancer?: { ingress?: { ip?: string; hostname?: string; ipMode?: string }[] };
    conditions?: Condition[];
  };
}
export type LiveService = Live<ServiceObject>;

/** --service-lb-class and --service-lb-default. */
export interface ServiceLbOptions {
  className?: string | undefined;
  serveDefault: boolean;
}

export function isServed(svc: ServiceObject | undefined, opts: ServiceLbOptions): boolean {
  if (svc?.spec?.type !== 'LoadBalancer') return false;
  const cls = svc.spec.loadBalancerClass;
  return cls === undefined || cls === '' ? opts.serveDefault : cls === opts.className;
}

export type Refusal = { refused: true; reason: string; message: string };

/**
 * The Service as owner of its claim, so that the garbage collector releases it too: the
 * controller of its own claim, one owner among the sharers of a shared one.
 */
export function serviceOwnerReference(svc: LiveService, controller = true): OwnerReference {
  // No blockOwnerDeletion: setting it needs the right to update services/finalizers where the
  // OwnerReferencesPermissionEnforcement admission plugin runs, and the role has no such right.
  // It matters for foreground deletion alone, which then need not wait for the claim.
  return {
    apiVersion: 'v1',
    kind: 'Service',
    name: svc.metadata.name ?? '',
    uid: svc.metadata.uid ?? '',
    ...(controller ? { controller: true } : {}),
  };
}

/**
 * Whose claim this is. A Service's own: `this` Service, an `earlier` Service of the same name, or
 * `none` (someone else's). A shared one: `this` when the Service owns it, `group` when it is its
 * key's claim the Service does not own yet, `none` when it is not that key's.
 */
export function serviceClaimOwnership(
  claim: {
    metadata?: {
      labels?: Record<string, string>;
      annotations?: Record<string, string>;
      ownerReferences?: OwnerReference[];
    };
  },
  svc: LiveService,
  slot: Pick<ServiceSlot, 'shared'>,
): 'this' | 'earlier' | 'group' | 'none' {
  const name = svc.metadata.name;
  const refs = (claim.metadata?.ownerReferences ?? []).filter(isServiceRef);
  if (slot.shared) {
    const meta = claim.metadata;
    if (
      meta?.labels?.[LABEL_SERVICE_LB_SHARED_KEY] !== slot.shared.label ||
      meta.annotations?.[ANNOTATION_SHARED_IP_KEY] !== slot.shared.key
    )
      return 'none';
    return refs.some((r) => r.uid === svc.metadata.uid) ? 'this' : 'group';
  }
  if (claim.metadata?.labels?.[LABEL_SERVICE_LB_OF] !== name) return 'none';
  const ref = refs.find((r) => r.name === name);
  if (!ref) return 'none';
  return ref.uid === svc.metadata.uid ? 'this' : 'earlier';
}

/**
 * The claim made for a Service's address in one family: in its namespace, owned by it. Its own
 * is labelled with its name; a shared one with its key (the key itself in an annotation: the label
 * may be a hash of it), and each sharer is added as an owner.
 */
export function desiredServiceClaim(
  svc: LiveService,
  slot: ServiceSlot,
  pool: { kind: string; name: string },
  requested: string | undefined,
  claimApiVersion: string,
  watchFilter: string | undefined,
): IPAddressClaim {
  const name = svc.metadata.name ?? '';
  const filter: Record<string, string> = watchFilter ? { [LABEL_WATCH_FILTER]: watchFilter } : {};
  const annotations = {
    ...(slot.shared ? { [ANNOTATION_SHARED_IP_KEY]: slot.shared.key } : {}),
    ...(requested === undefined ? {} : { [ANNOTATION_REQUESTED_ADDRESS]: requested }),
  };
  return {
    apiVersion: claimApiVersion,
    kind: KIND_IP_ADDRESS_CLAIM,
    metadata: {
      name: slot.claimName,
      namespace: svc.metadata.namespace ?? '',
      labels: slot.shared
        ? { [LABEL_SERVICE_LB_SHARED_KEY]: slot.shared.label, ...filter }
        : { [LABEL_SERVICE_LB_OF]: name, ...filter },
      ...(Object.keys(annotations).length ? { annotations } : {}),
      ownerReferences: [serviceOwnerReference(svc, !slot.shared)],
    },
    spec: { poolRef: { apiGroup: IPAM_GROUP, kind: pool.kind, name: pool.name } },
  };
}

/** The merge patch of the Service's metadata announcing `addresses` to kube-vip; undefined: in place. */
export function announcePatch(svc: LiveService, addresses: readonly string[]): object | undefined {
  const annotations = svc.metadata.annotations ?? {};
  const labels = svc.metadata.labels ?? {};
  const value = addresses.join(',');
  if (
    annotations[ANNOTATION_KUBE_VIP_IPS] === value &&
    labels[LABEL_IMPLEMENTATION] === IMPLEMENTATION_KUBE_VIP
  )
    return undefined;
  return {
    metadata: {
      resourceVersion: svc.metadata.resourceVersion,
      annotations: { [ANNOTATION_KUBE_VIP_IPS]: value },
      labels: { [LABEL_IMPLEMENTATION]: IMPLEMENTATION_KUBE_VIP },
    },
  };
}

/**
 * The status merge patch: ingress (when addresses are given: exactly those) and our condition;
 * undefined when both are as they should be. The condition list goes whole, guarded by the
 * resourceVersion, so a condition someone else added meanwhile is never dropped (the write fails
 * and is planned again).
 */
export function statusPatch(
  svc: LiveService,
  addresses: readonly string[] | undefined,
  condition: ConditionInput,
): object | undefined {
  const ingress = svc.status?.loadBalancer?.ingress ?? [];
  const ingressDone =
    addresses === undefined ||
    (ingress.length === addresses.length &&
      addresses.every(
        (a, i) => ingress[i]?.ip === a && ingress[i]?.ipMode === 'VIP' && !ingress[i]?.hostname,
      ));
  const conditions = setCondition(svc.status?.conditions, {
    ...condition,
    observedGeneration: svc.metadata.generation,
  });
  if (ingressDone && !conditions) return undefined;
  return {
    metadata: { resourceVersion: svc.metadata.resourceVersion },
    status: {
      ...(ingressDone
        ? {}
        : { loadBalancer: { ingress: (addresses ?? []).map((ip) => ({ ip, ipMode: 'VIP' })) } }),
      ...(conditions ? { conditions } : {}),
    },
  };
}

/**
 * What to take off a Service that is no longer served: our condition, and — when it says we
 * assigned the addresses kube-vip's annotation names — their ingress, that annotation and label.
 * Only ours: a Service we never wrote (no condition) is left as it is. With `keepCondition`, the
 * condition stays (a Service still served that lost its address writes the reason next).
 */
export function cleanupPatches(
  svc: LiveService,
  keepCondition = false,
): { metadata?: object; status?: object } {
  const ours = svc.status?.conditions?.find((c) => c.type === SERVICE_LB_CONDITION);
  if (!ours) return {};
  const rv = svc.metadata.resourceVersion;
  const announced = svc.metadata.annotations?.[ANNOTATION_KUBE_VIP_IPS];
  const assigned = ours.status === 'True' && announced !== undefined;
  const addresses = new Set(assigned ? announced.split(',') : []);
  const ingress = svc.status?.loadBalancer?.ingress ?? [];
  const kept = ingress.filter((i) => !addresses.has(i.ip ?? ''));
  const ingressPatch =
    kept.length !== ingress.length ? { loadBalancer: { ingress: kept.length ? kept : null } } : {};
  if (keepCondition && !assigned) return {};
  const status = {
    metadata: { resourceVersion: rv },
    status: {
      ...(keepCondition
        ? {}
        : { conditions: (svc.status?.conditions ?? []).filter((c) => c.type !== SERVICE_LB_CONDITION) }),
      ...ingressPatch,
    },
  };
  if (!assigned) return { status };
  const labels = svc.metadata.labels ?? {};
  return {
    status,
    metadata: {
      metadata: {
        resourceVersion: rv,
        annotations: { [ANNOTATION_KUBE_VIP_IPS]: null },
        ...(labels[LABEL_IMPLEMENTATION] === IMPLEMENTATION_KUBE_VIP
          ? { labels: { [LABEL_IMPLEMENTATION]: null } }
          : {}),
      },
    },
  };
}

/** The Service key to reconcile for a Service seen added, changed or deleted; undefined: none. */
export function serviceKeyOfChange(
  old: LiveService | undefined,
  svc: LiveService | undefined,
  opts: ServiceLbOptions,
  hasClaim: (key: string) => boolean,
): string | undefined {
  const obj = svc ?? old;
  const key = `${obj?.metadata.namespace ?? ''}/${obj?.metadata.name ?? ''}`;
  const ours = (s: LiveService | undefined) =>
    isServed(s, opts) || s?.status?.conditions?.some((c) => c.type === SERVICE_LB_CONDITION) === true;
  if (!ours(old) && !ours(svc) && !hasClaim(key)) return undefined;
  return key;
}
