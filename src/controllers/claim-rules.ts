/**
 * Pure rules of the claim flow, kept apart from I/O so each one is tested on its own: which
 * claims are ours, how a pool is named, pause and watch-filter rules, and the IPAddress we write.
 */
import type { IPAddress, IPAddressClaim, IPPoolReference } from '../api/capi-types.js';
import {
  ANNOTATION_PAUSED,
  FINALIZER_PROTECT_ADDRESS,
  IPAM_GROUP,
  isGlobalPoolKind,
  isPoolKind,
  KIND_IP_ADDRESS,
  KIND_IP_ADDRESS_CLAIM,
  LABEL_CLUSTER_NAME,
  LABEL_WATCH_FILTER,
  POOL_VERSION_V1ALPHA2,
} from '../api/constants.js';
import { hasAnnotation, type KubeObject, type OwnerReference } from '../api/meta.js';

/** A claim is ours when its poolRef names our group and one of our four pool kinds. */
export function handlesPoolRef(ref: { apiGroup?: string; kind?: string } | undefined): boolean {
  return ref?.apiGroup === IPAM_GROUP && typeof ref.kind === 'string' && isPoolKind(ref.kind);
}

/**
 * An IPAddress is held in one of our pools when its poolRef names one of our kinds, in our group or
 * in none: the Go provider's poolRef index reads an empty apiGroup as ipam.cluster.x-k8s.io (v1beta1
 * IPAddresses may have none), so such an address counts as in use, and is never handed out again.
 */
export function heldInOurPool(ref: { apiGroup?: string; kind?: string } | undefined): boolean {
  return handlesPoolRef(ref && !ref.apiGroup ? { ...ref, apiGroup: IPAM_GROUP } : ref);
}

/**
 * Identity of a pool as claims and IPAddresses reference it: a namespaced pool lives in the
 * referrer's namespace, a global pool in none. Two pools of the same name in different namespaces,
 * or a namespaced and a global pool of the same name, are different pools.
 */
export function poolKey(kind: string, namespace: string | undefined, name: string): string {
  return isGlobalPoolKind(kind) ? `${kind}//${name}` : `${kind}/${namespace ?? ''}/${name}`;
}

export function poolKeyOfRef(
  ref: { kind: string; name: string },
  referrerNamespace: string | undefined,
): string {
  return poolKey(ref.kind, referrerNamespace, ref.name);
}

export function poolKeyOfPool(pool: KubeObject, kind: string): string {
  return poolKey(kind, pool.metadata?.namespace, pool.metadata?.name ?? '');
}

export function objectKey(obj: KubeObject): string {
  const ns = obj.metadata?.namespace;
  return ns ? `${ns}/${obj.metadata?.name ?? ''}` : (obj.metadata?.name ?? '');
}

/** Cluster API's pause rule: the annotation's presence, whatever its value. */
export function isPaused(obj: KubeObject | undefined): boolean {
  return obj !== undefined && hasAnnotation(obj, ANNOTATION_PAUSED);
}

/** With --watch-filter set, only objects labelled with that value are looked at. */
export function passesWatchFilter(obj: KubeObject, watchFilter: string | undefined): boolean {
  return !watchFilter || obj.metadata?.labels?.[LABEL_WATCH_FILTER] === watchFilter;
}

/** spec.clusterName wins over the (deprecated) cluster-name label, as in the Go provider. */
export function clusterNameOf(claim: IPAddressClaim): string | undefined {
  return claim.spec?.clusterName || claim.metadata?.labels?.[LABEL_CLUSTER_NAME] || undefined;
}

export function isDeleting(obj: KubeObject | undefined): boolean {
  return Boolean(obj?.metadata?.deletionTimestamp);
}

export function claimOwnerReference(claim: IPAddressClaim, claimApiVersion: string): OwnerReference {
  return {
    apiVersion: claimApiVersion,
    kind: KIND_IP_ADDRESS_CLAIM,
    name: claim.metadata?.name ?? '',
    uid: claim.metadata?.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

export function poolOwnerReference(pool: KubeObject, kind: string): OwnerReference {
  return {
    apiVersion: `${IPAM_GROUP}/${POOL_VERSION_V1ALPHA2}`,
    kind,
    name: pool.metadata?.name ?? '',
    uid: pool.metadata?.uid ?? '',
    controller: false,
    blockOwnerDeletion: true,
  };
}

function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/**
 * Adds or refreshes `wanted` among `refs`, matching by group, kind and name like
 * controller-runtime does, and keeps unrelated references. A claim reference is not made
 * controller when another controller already owns the object (adoption keeps it).
 */
export function mergeOwnerReference(
  refs: readonly OwnerReference[],
  wanted: OwnerReference,
): OwnerReference[] {
  const same = (r: OwnerReference) =>
    groupOf(r.apiVersion) === groupOf(wanted.apiVersion) && r.kind === wanted.kind && r.name === wanted.name;
  const otherController = refs.some((r) => r.controller && !same(r));
  const ref = wanted.controller && otherController ? { ...wanted, controller: false } : wanted;
  return refs.some(same) ? refs.map((r) => (same(r) ? ref : r)) : [...refs, ref];
}

export interface AddressParts {
  address: string;
  prefix: number;
  gateway?: string | undefined;
}

/** The IPAddress the Go provider writes for a claim: same name and namespace as the claim. */
export function desiredIPAddress(
  claim: IPAddressClaim,
  claimApiVersion: string,
  pool: KubeObject,
  poolKind: string,
  addressApiVersion: string,
  parts: AddressParts,
): IPAddress {
  const clusterLabel = claim.metadata?.labels?.[LABEL_CLUSTER_NAME];
  const poolRef: IPPoolReference = { apiGroup: IPAM_GROUP, kind: poolKind, name: pool.metadata?.name ?? '' };
  return {
    apiVersion: addressApiVersion,
    kind: KIND_IP_ADDRESS,
    metadata: {
      name: claim.metadata?.name ?? '',
      namespace: claim.metadata?.namespace ?? '',
      ...(clusterLabel ? { labels: { [LABEL_CLUSTER_NAME]: clusterLabel } } : {}),
      finalizers: [FINALIZER_PROTECT_ADDRESS],
      ownerReferences: [claimOwnerReference(claim, claimApiVersion), poolOwnerReference(pool, poolKind)],
    },
    spec: {
      claimRef: { name: claim.metadata?.name ?? '' },
      poolRef,
      address: parts.address,
      prefix: parts.prefix,
      ...(parts.gateway ? { gateway: parts.gateway } : {}),
    },
  };
}

/**
 * What an existing IPAddress (adopted, or created earlier) lacks: owner references, the
 * ProtectAddress finalizer, the cluster-name label. Returns a merge patch for metadata, or
 * undefined when nothing is missing. Its spec is never touched: an adopted address keeps its value.
 */
export function adoptionPatch(
  existing: IPAddress,
  claim: IPAddressClaim,
  claimApiVersion: string,
  pool: KubeObject,
  poolKind: string,
): { metadata: Record<string, unknown> } | undefined {
  const meta = existing.metadata ?? {};
  const patch: Record<string, unknown> = {};
  const refs0 = meta.ownerReferences ?? [];
  const refs = mergeOwnerReference(
    mergeOwnerReference(refs0, claimOwnerReference(claim, claimApiVersion)),
    poolOwnerReference(pool, poolKind),
  );
  const sameRef = (a: OwnerReference, b: OwnerReference | undefined) =>
    b !== undefined &&
    a.apiVersion === b.apiVersion &&
    a.kind === b.kind &&
    a.name === b.name &&
    a.uid === b.uid &&
    Boolean(a.controller) === Boolean(b.controller) &&
    Boolean(a.blockOwnerDeletion) === Boolean(b.blockOwnerDeletion);
  if (refs.length !== refs0.length || refs.some((r, i) => !sameRef(r, refs0[i])))
    patch.ownerReferences = refs;
  const finalizers = meta.finalizers ?? [];
  if (!finalizers.includes(FINALIZER_PROTECT_ADDRESS))
    patch.finalizers = [...finalizers, FINALIZER_PROTECT_ADDRESS];
  const clusterLabel = claim.metadata?.labels?.[LABEL_CLUSTER_NAME];
  if (clusterLabel && meta.labels?.[LABEL_CLUSTER_NAME] !== clusterLabel) {
    patch.labels = { [LABEL_CLUSTER_NAME]: clusterLabel };
  }
  if (Object.keys(patch).length === 0) return undefined;
  // Lists in a merge patch replace the whole list; the resourceVersion makes it fail on a race.
  return { metadata: { ...patch, resourceVersion: meta.resourceVersion } };
}
