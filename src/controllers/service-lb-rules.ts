/**
 * Pure rules of the Service load-balancer flow (service-lb.ts): which Services are served, what
 * address a Service asks for, the one IPAddressClaim made for it, which pool it comes from, and
 * what is written back to the Service — or taken off it once it is no longer served.
 */
import type { IPAddressClaim } from '../api/capi-types.js';
import {
  IPAM_GROUP,
  isGlobalPoolKind,
  isIPPoolKind,
  KIND_IP_ADDRESS_CLAIM,
  LABEL_WATCH_FILTER,
} from '../api/constants.js';
import type { ObjectMeta as ApiObjectMeta, Condition, OwnerReference } from '../api/meta.js';
import { type LabelSelector, selectorMatches } from '../api/selector.js';
import { canonicalIP, type IPFamily, parseEntry, parseIP } from '../ip/index.js';
import { ANNOTATION_REQUESTED_ADDRESS } from './chosen-address.js';
import { type ConditionInput, setCondition } from './conditions.js';
import type { Live, LiveClaim } from './context.js';

/** `<Kind>/<name>` of the pool a Service's address comes from (a namespaced kind: its namespace). */
export const ANNOTATION_SERVICE_POOL = 'ipam.cluster.x-k8s.io/pool';
/** Pools labelled so serve Services that name no pool. */
export const LABEL_SERVICE_LB_POOL = 'ipam.cluster.x-k8s.io/service-lb';
/** On the claim: the name of the Service it is the address of. */
export const LABEL_SERVICE_LB_OF = 'ipam.cluster.x-k8s.io/service-lb-of';
/**
 * The claim is `<service>` + this. A dot never comes out of the dash-built names of other
 * consumers (CAPV, CAPM3), nor out of a Service name (a DNS label); a claim of this name that the
 * Service does not own is never taken over anyway.
 */
export const SERVICE_CLAIM_SUFFIX = '.service-lb';
/** kube-vip announces the address in this annotation, as kube-vip-cloud-provider writes it. */
export const ANNOTATION_KUBE_VIP_IPS = 'kube-vip.io/loadbalancerIPs';
export const LABEL_IMPLEMENTATION = 'implementation';
export const IMPLEMENTATION_KUBE_VIP = 'kube-vip';
/** Annotations of other load-balancer implementations that pin a Service's address. */
const PIN_ANNOTATIONS = [
  'metallb.io/loadBalancerIPs',
  'metallb.universe.tf/loadBalancerIPs',
  'lbipam.cilium.io/ips',
] as const;
/** Our condition in the Service's status.conditions. */
export const SERVICE_LB_CONDITION = 'ipam.cluster.x-k8s.io/LoadBalancerAddress';

/** The claims' index by the Service whose address they are (`namespace/name`). */
export const CLAIM_SERVICE_INDEX = 'serviceLbOf';

export function claimServiceIndex(claim: LiveClaim): string[] {
  const of = claim.metadata.labels?.[LABEL_SERVICE_LB_OF];
  return of ? [`${claim.metadata.namespace}/${of}`] : [];
}

export const ServiceEvents = {
  Claimed: 'LoadBalancerAddressClaimed',
  Assigned: 'LoadBalancerAddressAssigned',
  Released: 'LoadBalancerAddressReleased',
} as const;

export const ServiceReasons = {
  Assigned: 'AddressAssigned',
  Waiting: 'WaitingForAddress',
  InvalidPoolAnnotation: 'InvalidPoolAnnotation',
  NoPool: 'NoPoolAvailable',
  ConflictingRequests: 'ConflictingRequestedAddresses',
  ClaimNameTaken: 'LoadBalancerClaimNameTaken',
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

export function serviceClaimName(serviceName: string): string {
  return `${serviceName}${SERVICE_CLAIM_SUFFIX}`;
}

export type Refusal = { refused: true; reason: string; message: string };

/** The family of the Service's address: the first of spec.ipFamilies (undefined: the pool's). */
export function serviceFamily(svc: ServiceObject): IPFamily | undefined {
  const first = svc.spec?.ipFamilies?.[0];
  return first === 'IPv6' ? 6 : first === 'IPv4' ? 4 : undefined;
}

function familyOf(address: string): IPFamily | undefined {
  const ip = parseIP(address);
  return ip.ok ? ip.value.family : undefined;
}

/**
 * The address a Service asks for, single-stack: spec.loadBalancerIP and the pinning annotations of
 * kube-vip, MetalLB and Cilium (a list: the entry of the Service's family); without any, the
 * address it already carries in status.loadBalancer.ingress (kube-vip-cloud-provider's, adopted).
 * Pins that disagree are refused: none of them is assigned.
 */
export function requestedServiceAddress(svc: ServiceObject): string | Refusal | undefined {
  const family = serviceFamily(svc);
  const annotations = svc.metadata?.annotations ?? {};
  const sources: [string, string][] = [];
  const lbIP = svc.spec?.loadBalancerIP?.trim();
  if (lbIP) sources.push(['spec.loadBalancerIP', lbIP]);
  for (const name of [ANNOTATION_KUBE_VIP_IPS, ...PIN_ANNOTATIONS]) {
    const list = (annotations[name] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    const pick = list.find((a) => family === undefined || familyOf(a) === family) ?? list[0];
    if (pick !== undefined) sources.push([`annotation ${name}`, pick]);
  }
  const distinct = new Set(sources.map(([, a]) => canonicalIP(a) ?? a));
  if (distinct.size > 1) {
    return {
      refused: true,
      reason: ServiceReasons.ConflictingRequests,
      message: `the Service asks for different addresses (${sources.map(([s, a]) => `${s} ${a}`).join(', ')}): none of them is assigned until they agree`,
    };
  }
  const [asked] = distinct;
  if (asked !== undefined) return asked;
  const held = svc.status?.loadBalancer?.ingress
    ?.map((i) => i.ip)
    .find((ip): ip is string => !!ip && (family === undefined || familyOf(ip) === family));
  return held === undefined ? undefined : (canonicalIP(held) ?? held);
}

/** A pool as the choice sees it (from the registry). */
export interface PoolCandidate {
  kind: string;
  namespace: string | undefined;
  name: string;
  labels: Record<string, string> | undefined;
  addresses: readonly string[];
  namespaceSelector: LabelSelector | undefined;
  valid: boolean;
  free: bigint;
}

export type PoolChoice = { pool: { kind: string; name: string } } | Refusal;

function poolFamily(p: PoolCandidate): IPFamily | undefined {
  for (const text of p.addresses) {
    const e = parseEntry(text);
    if (e.ok) return e.value.family;
  }
  return undefined;
}

function poolContains(p: PoolCandidate, address: string): boolean {
  const ip = parseIP(address);
  if (!ip.ok) return false;
  return p.addresses.some((text) => {
    const e = parseEntry(text);
    return (
      e.ok &&
      e.value.family === ip.value.family &&
      e.value.first <= ip.value.value &&
      ip.value.value <= e.value.last
    );
  });
}

/**
 * The pool of a Service's new claim: the one its annotation names, else the pools labelled
 * `ipam.cluster.x-k8s.io/service-lb: "true"` — namespaced ones of its namespace first, then global
 * ones whose namespaceSelector admits it, each by name — the first of the Service's family with a
 * free address (or, for a requested address, the first that contains it: the claim flow then says
 * whether it is free).
 */
export function choosePool(
  svc: ServiceObject,
  pools: Iterable<PoolCandidate>,
  namespaceLabels: Record<string, string> | undefined,
  requested: string | undefined,
): PoolChoice {
  const namespace = svc.metadata?.namespace ?? '';
  const named = svc.metadata?.annotations?.[ANNOTATION_SERVICE_POOL];
  if (named !== undefined) {
    const slash = named.indexOf('/');
    const kind = slash < 0 ? '' : named.slice(0, slash).trim();
    const name = slash < 0 ? '' : named.slice(slash + 1).trim();
    if (!isIPPoolKind(kind) || name === '')
      return {
        refused: true,
        reason: ServiceReasons.InvalidPoolAnnotation,
        message: `annotation ${ANNOTATION_SERVICE_POOL} is ${JSON.stringify(named)}: it must be <Kind>/<name> of an InClusterIPPool (in the Service's namespace) or a GlobalInClusterIPPool`,
      };
    return { pool: { kind, name } };
  }
  const family = requested !== undefined ? familyOf(requested) : serviceFamily(svc);
  const labelled = [...pools].filter(
    (p) => isIPPoolKind(p.kind) && p.labels?.[LABEL_SERVICE_LB_POOL] === 'true' && p.valid,
  );
  const byName = (a: PoolCandidate, b: PoolCandidate) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  const ordered = [
    ...labelled.filter((p) => !isGlobalPoolKind(p.kind) && p.namespace === namespace).sort(byName),
    ...labelled
      .filter((p) => isGlobalPoolKind(p.kind) && selectorMatches(p.namespaceSelector, namespaceLabels))
      .sort(byName),
  ];
  const fits = (p: PoolCandidate) =>
    requested !== undefined
      ? poolContains(p, requested)
      : p.free > 0n && (family === undefined || poolFamily(p) === family);
  const chosen = ordered.find(fits);
  if (chosen) return { pool: { kind: chosen.kind, name: chosen.name } };
  const what =
    requested !== undefined
      ? `contains ${requested}`
      : `has a free ${family === undefined ? '' : `IPv${family} `}address`;
  return {
    refused: true,
    reason: ServiceReasons.NoPool,
    message: `no pool labelled ${LABEL_SERVICE_LB_POOL}: "true" that serves namespace ${namespace} ${what} (${ordered.length} considered); name one with annotation ${ANNOTATION_SERVICE_POOL}, or label a pool`,
  };
}

/** The Service as controller owner of its claim, so that the garbage collector releases it too. */
export function serviceOwnerReference(svc: LiveService): OwnerReference {
  // No blockOwnerDeletion: setting it needs the right to update services/finalizers where the
  // OwnerReferencesPermissionEnforcement admission plugin runs, and the role has no such right.
  // It matters for foreground deletion alone, which then need not wait for the claim.
  return {
    apiVersion: 'v1',
    kind: 'Service',
    name: svc.metadata.name ?? '',
    uid: svc.metadata.uid ?? '',
    controller: true,
  };
}

/** Whose claim this is: `this` Service, an `earlier` Service of the same name, or `none`. */
export function serviceClaimOwnership(
  claim: { metadata?: { labels?: Record<string, string>; ownerReferences?: OwnerReference[] } },
  svc: LiveService,
): 'this' | 'earlier' | 'none' {
  const name = svc.metadata.name;
  if (claim.metadata?.labels?.[LABEL_SERVICE_LB_OF] !== name) return 'none';
  const ref = claim.metadata?.ownerReferences?.find(
    (r) => r.kind === 'Service' && r.apiVersion === 'v1' && r.name === name,
  );
  if (!ref) return 'none';
  return ref.uid === svc.metadata.uid ? 'this' : 'earlier';
}

/** The claim made for a Service: in its namespace, owned by it, labelled with its name. */
export function desiredServiceClaim(
  svc: LiveService,
  pool: { kind: string; name: string },
  requested: string | undefined,
  claimApiVersion: string,
  watchFilter: string | undefined,
): IPAddressClaim {
  const name = svc.metadata.name ?? '';
  return {
    apiVersion: claimApiVersion,
    kind: KIND_IP_ADDRESS_CLAIM,
    metadata: {
      name: serviceClaimName(name),
      namespace: svc.metadata.namespace ?? '',
      labels: { [LABEL_SERVICE_LB_OF]: name, ...(watchFilter ? { [LABEL_WATCH_FILTER]: watchFilter } : {}) },
      ...(requested === undefined ? {} : { annotations: { [ANNOTATION_REQUESTED_ADDRESS]: requested } }),
      ownerReferences: [serviceOwnerReference(svc)],
    },
    spec: { poolRef: { apiGroup: IPAM_GROUP, kind: pool.kind, name: pool.name } },
  };
}

/** The merge patch of the Service's metadata that announces `address` to kube-vip; undefined: in place. */
export function announcePatch(svc: LiveService, address: string): object | undefined {
  const annotations = svc.metadata.annotations ?? {};
  const labels = svc.metadata.labels ?? {};
  if (
    annotations[ANNOTATION_KUBE_VIP_IPS] === address &&
    labels[LABEL_IMPLEMENTATION] === IMPLEMENTATION_KUBE_VIP
  )
    return undefined;
  return {
    metadata: {
      resourceVersion: svc.metadata.resourceVersion,
      annotations: { [ANNOTATION_KUBE_VIP_IPS]: address },
      labels: { [LABEL_IMPLEMENTATION]: IMPLEMENTATION_KUBE_VIP },
    },
  };
}

/**
 * The status merge patch: ingress (when an address is given) and our condition; undefined when
 * both are as they should be. The condition list goes whole, guarded by the resourceVersion, so
 * a condition someone else added meanwhile is never dropped (the write fails and is planned again).
 */
export function statusPatch(
  svc: LiveService,
  address: string | undefined,
  condition: ConditionInput,
): object | undefined {
  const ingress = svc.status?.loadBalancer?.ingress ?? [];
  const ingressDone =
    address === undefined ||
    (ingress.length === 1 &&
      ingress[0]?.ip === address &&
      ingress[0]?.ipMode === 'VIP' &&
      !ingress[0]?.hostname);
  const conditions = setCondition(svc.status?.conditions, {
    ...condition,
    observedGeneration: svc.metadata.generation,
  });
  if (ingressDone && !conditions) return undefined;
  return {
    metadata: { resourceVersion: svc.metadata.resourceVersion },
    status: {
      ...(ingressDone ? {} : { loadBalancer: { ingress: [{ ip: address, ipMode: 'VIP' }] } }),
      ...(conditions ? { conditions } : {}),
    },
  };
}

/**
 * What to take off a Service that is no longer served: our condition, and — when it says we
 * assigned `address` — the ingress of that address, kube-vip's annotation and label. Only ours:
 * a Service we never wrote (no condition) is left as it is.
 */
export function cleanupPatches(svc: LiveService): { metadata?: object; status?: object } {
  const ours = svc.status?.conditions?.find((c) => c.type === SERVICE_LB_CONDITION);
  if (!ours) return {};
  const rv = svc.metadata.resourceVersion;
  const address = svc.metadata.annotations?.[ANNOTATION_KUBE_VIP_IPS];
  const ingress = svc.status?.loadBalancer?.ingress ?? [];
  const kept = address === undefined ? ingress : ingress.filter((i) => i.ip !== address);
  const status = {
    metadata: { resourceVersion: rv },
    status: {
      conditions: (svc.status?.conditions ?? []).filter((c) => c.type !== SERVICE_LB_CONDITION),
      ...(kept.length !== ingress.length ? { loadBalancer: { ingress: kept.length ? kept : null } } : {}),
    },
  };
  if (ours.status !== 'True' || address === undefined) return { status };
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
