/**
 * Which pool a Service's new claim comes from (pure): the pool its annotation names for the
 * address's family, else the first labelled pool of its namespace, then of the global ones that
 * admit it, that can give an address of that family.
 */
import { isGlobalPoolKind, isIPPoolKind } from '../api/constants.js';
import { type LabelSelector, selectorMatches } from '../api/selector.js';
import { type IPFamily, parseEntry, parseIP } from '../ip/index.js';
import {
  ANNOTATION_SERVICE_POOL,
  LABEL_SERVICE_LB_POOL,
  type Refusal,
  type ServiceObject,
  ServiceReasons,
} from './service-lb-rules.js';
import { familyOf } from './service-lb-slots.js';

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
 * The pool the annotation names for this family: `<Kind>/<name>`, or one per family separated by
 * commas. An entry whose pool is known serves its own family only (a pool has one); one not known
 * yet (the claim flow then says PoolNotFound) only the Service's first address, so that a
 * dual-stack Service never gets two addresses of one family.
 */
function chooseNamedPool(
  named: string,
  namespace: string,
  pools: PoolCandidate[],
  family: IPFamily | undefined,
  primary: boolean,
): PoolChoice {
  const entries: { kind: string; name: string }[] = [];
  for (const entry of named.split(',')) {
    const slash = entry.indexOf('/');
    const kind = slash < 0 ? '' : entry.slice(0, slash).trim();
    const name = slash < 0 ? '' : entry.slice(slash + 1).trim();
    if (!isIPPoolKind(kind) || name === '')
      return {
        refused: true,
        reason: ServiceReasons.InvalidPoolAnnotation,
        message: `annotation ${ANNOTATION_SERVICE_POOL} is ${JSON.stringify(named)}: it must be <Kind>/<name> of an InClusterIPPool (in the Service's namespace) or a GlobalInClusterIPPool, or one per IP family separated by commas`,
      };
    entries.push({ kind, name });
  }
  const familyOfEntry = (e: { kind: string; name: string }) => {
    const pool = pools.find(
      (p) =>
        p.kind === e.kind && p.name === e.name && (isGlobalPoolKind(p.kind) || p.namespace === namespace),
    );
    return pool ? poolFamily(pool) : undefined;
  };
  const known = entries.find((e) => family === undefined || familyOfEntry(e) === family);
  if (known) return { pool: known };
  const unknown = entries.find((e) => familyOfEntry(e) === undefined);
  if (unknown && primary) return { pool: unknown };
  return {
    refused: true,
    reason: ServiceReasons.NoPool,
    message: `annotation ${ANNOTATION_SERVICE_POOL} names no ${family === undefined ? '' : `IPv${family} `}pool (${named})`,
  };
}

/**
 * The pool of a new claim of a Service (in `family`): the one its annotation names, else the pools
 * labelled `ipam.cluster.x-k8s.io/service-lb: "true"` — namespaced ones of its namespace first,
 * then global ones whose namespaceSelector admits it, each by name — the first of the family with
 * a free address (or, for a requested address, the first that contains it: the claim flow then
 * says whether it is free).
 */
export function choosePool(
  svc: ServiceObject,
  pools: Iterable<PoolCandidate>,
  namespaceLabels: Record<string, string> | undefined,
  requested: string | undefined,
  family: IPFamily | undefined,
  primary = true,
): PoolChoice {
  const namespace = svc.metadata?.namespace ?? '';
  const named = svc.metadata?.annotations?.[ANNOTATION_SERVICE_POOL];
  const wanted = requested !== undefined ? familyOf(requested) : family;
  const candidates = [...pools];
  if (named !== undefined) return chooseNamedPool(named, namespace, candidates, wanted, primary);
  const labelled = candidates.filter(
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
      : p.free > 0n && (wanted === undefined || poolFamily(p) === wanted);
  const chosen = ordered.find(fits);
  if (chosen) return { pool: { kind: chosen.kind, name: chosen.name } };
  const what =
    requested !== undefined
      ? `contains ${requested}`
      : `has a free ${wanted === undefined ? '' : `IPv${wanted} `}address`;
  return {
    refused: true,
    reason: ServiceReasons.NoPool,
    message: `no pool labelled ${LABEL_SERVICE_LB_POOL}: "true" that serves namespace ${namespace} ${what} (${ordered.length} considered); name one with annotation ${ANNOTATION_SERVICE_POOL}, or label a pool`,
  };
}

/** Whether the pool annotation's value names this pool (as one of its entries). */
export function namesPool(named: string, kind: string, name: string): boolean {
  return named.split(',').some((entry) => {
    const slash = entry.indexOf('/');
    return slash >= 0 && entry.slice(0, slash).trim() === kind && entry.slice(slash + 1).trim() === name;
  });
}
