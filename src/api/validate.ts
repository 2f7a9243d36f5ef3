/**
 * Defaulting and validation of IP pools (anchor §2.1), pure: the webhook server and the controller
 * (which must survive a bad pool that got in while webhooks were off) both call these. Detail texts
 * are the Go provider's, so messages read as they did there.
 */
import {
  compareIP,
  entryWithinSubnet,
  formatIP,
  IntervalSet,
  type IP,
  type IPFamily,
  inferSubnet,
  parseEntry,
  parseIP,
  poolAllocatableSet,
  type Range,
} from '../ip/index.js';
import { ANNOTATION_SKIP_VALIDATE_DELETE_WEBHOOK } from './constants.js';
import { type FieldError, invalid, required } from './errors.js';
import type { IPPoolSpec } from './ippool-types.js';
import { hasAnnotation, type KubeObject } from './meta.js';
import { ipPoolSpecV1Alpha2For } from './schema/ippool.js';
import { validateAgainstSchema } from './schema/structural.js';
import { validateIPPoolExtensions } from './validate-extensions.js';

export const MSG_ADDRESSES_REQUIRED = 'addresses is required';
export const MSG_PREFIX_REQUIRED = 'a valid prefix is required';
export const MSG_NOT_IP_RANGE_CIDR = 'provided address is not a valid IP, range, nor CIDR';
export const MSG_MIXED_FAMILIES = 'provided addresses are of mixed IP families';
export const MSG_GATEWAY_MIXED = 'provided gateway and addresses are of mixed IP families';
export const MSG_EXCLUDED_MIXED = 'addresses and excluded addresses are of mixed IP families';
export const MSG_GRACE_NEGATIVE = 'addressReuseGracePeriodSeconds must not be negative';
export const MSG_PREFIX_INVALID = 'provided prefix is not valid';
export const MSG_DIFFERENT_SUBNET = 'provided address belongs to a different subnet than others';
export const MSG_DELETE_IN_USE =
  'Pool has IPAddresses allocated. Cannot delete Pool until all IPAddresses have been removed.';
export const MSG_UPDATE_ORPHANS = 'pool addresses do not contain allocated addresses';

/** Defaulting of IP pools is a no-op, as in the Go provider; returns a copy so callers may diff. */
export function defaultIPPoolSpec(spec: IPPoolSpec): IPPoolSpec {
  return { ...spec, addresses: [...(spec.addresses ?? [])] };
}

/** Families present in a list of entries; bad entries are reported through `errors`. */
function entryFamilies(field: string, entries: readonly string[], errors: FieldError[]): Set<IPFamily> {
  const families = new Set<IPFamily>();
  for (const text of entries) {
    const parsed = parseEntry(text);
    if (parsed.ok) families.add(parsed.value.family);
    else errors.push(invalid(field, text, MSG_NOT_IP_RANGE_CIDR));
  }
  return families;
}

/**
 * Every rule of the Go provider's webhook `validate`, in its order, then the rules of our own
 * fields (preAllocations, namespaceSelector, allocationStrategy: validate-extensions.ts); an empty
 * list means valid. Unlike the Go provider, a negative prefix is reported with the prefix as the
 * bad value (Go shows the addresses there). `kind` (InClusterIPPool or GlobalInClusterIPPool) decides
 * whether a pre-allocation's namespace is required or forbidden and whether a namespaceSelector may
 * be set; without it those two rules are skipped, so callers that know the kind pass it.
 */
export function validateIPPoolSpec(spec: IPPoolSpec, kind?: string): FieldError[] {
  const errors = validateGoRules(spec);
  return [...errors, ...validateIPPoolExtensions(spec, kind, errors.length === 0)];
}

/** The Go provider's rules alone. */
function validateGoRules(spec: IPPoolSpec): FieldError[] {
  const errors: FieldError[] = [];
  const addresses = spec.addresses ?? [];
  if (addresses.length === 0) errors.push(invalid('spec.addresses', spec.addresses, MSG_ADDRESSES_REQUIRED));
  if (spec.prefix < 0) errors.push(invalid('spec.prefix', spec.prefix, MSG_PREFIX_REQUIRED));

  const families = entryFamilies('spec.addresses', addresses, errors);
  if (families.size > 1) errors.push(invalid('spec.addresses', addresses, MSG_MIXED_FAMILIES));

  if (spec.gateway !== undefined && spec.gateway !== '') {
    const gateway = parseIP(spec.gateway);
    if (!gateway.ok) errors.push(invalid('spec.gateway', spec.gateway, gateway.error));
    else if ([...families].some((f) => f !== gateway.value.family)) {
      errors.push(invalid('spec.gateway', spec.gateway, MSG_GATEWAY_MIXED));
    }
  }

  const excluded = spec.excludedAddresses ?? [];
  const excludedFamilies = entryFamilies('spec.excludedAddresses', excluded, errors);
  if (excludedFamilies.size > 1) errors.push(invalid('spec.excludedAddresses', excluded, MSG_MIXED_FAMILIES));
  if ([...families].some((f) => [...excludedFamilies].some((e) => e !== f))) {
    errors.push(invalid('spec.excludedAddresses', excluded, MSG_EXCLUDED_MIXED));
  }

  const grace = spec.addressReuseGracePeriodSeconds;
  if (grace !== undefined && grace !== null && grace < 0) {
    errors.push(invalid('spec.addressReuseGracePeriodSeconds', grace, MSG_GRACE_NEGATIVE));
  }

  // The subnet rules need parseable, single-family addresses: only checked when all else is valid.
  if (errors.length === 0) errors.push(...validateAddressesWithinSubnet(spec));
  return errors;
}

/**
 * Checks a pool's spec of unknown shape: first its shape against the v1alpha2 schema the CRD is
 * generated from, then, if it has the right shape, every rule of validateIPPoolSpec. For the
 * controller and the webhooks, which must not trust a pool blindly. The kind is `kind`, else the
 * object's own `kind` when it has one.
 */
export function validateIPPoolObject(pool: { spec?: unknown; kind?: unknown }, kind?: string): FieldError[] {
  const poolKind = kind ?? (typeof pool.kind === 'string' ? pool.kind : undefined);
  const spec = specOfShape(pool, poolKind);
  return 'errors' in spec ? spec.errors : validateIPPoolSpec(spec.spec, poolKind);
}

/**
 * The spec of an object of unknown shape, checked against the v1alpha2 schema's types and required
 * fields (bounds are left to the Go provider's rules, so its messages stay), with null optional
 * fields dropped (the API server treats them as absent, and the rules must never see a null).
 * `kind` picks the kind's schema; without it, the union of both kinds' fields is checked.
 */
export function specOfShape(pool: unknown, kind?: string): { spec: IPPoolSpec } | { errors: FieldError[] } {
  const raw = typeof pool === 'object' && pool !== null ? (pool as { spec?: unknown }).spec : undefined;
  if (raw === undefined || raw === null) return { errors: [required('spec')] };
  const errors = validateAgainstSchema(ipPoolSpecV1Alpha2For(kind), raw, 'spec', { typesOnly: true });
  if (errors.length > 0) return { errors };
  const spec = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== null));
  return { spec: spec as unknown as IPPoolSpec };
}

/** The subnet is the lowest address with `prefix` bits; every entry must lie inside it. */
function validateAddressesWithinSubnet(spec: IPPoolSpec): FieldError[] {
  const entries = spec.addresses.map((text) => ({ text, parsed: parseEntry(text) }));
  let lowest: IP | undefined;
  for (const { parsed } of entries) {
    if (!parsed.ok) continue;
    const ip: IP = { family: parsed.value.family, value: parsed.value.first };
    if (lowest === undefined || compareIP(ip, lowest) < 0) lowest = ip;
  }
  if (lowest === undefined) return [];
  const subnet = inferSubnet(lowest, spec.prefix);
  if (!subnet.ok) return [invalid('spec.prefix', spec.prefix, MSG_PREFIX_INVALID)];
  const errors: FieldError[] = [];
  for (const { text, parsed } of entries) {
    if (parsed.ok && !entryWithinSubnet(parsed.value, subnet.value)) {
      errors.push(invalid('spec.addresses', text, MSG_DIFFERENT_SUBNET));
    }
  }
  return errors;
}

/** Go's netipx prints every range as `from-to`, single addresses too. */
function formatGoRange(family: IPFamily, r: Range): string {
  return `${formatIP({ family, value: r.first })}-${formatIP({ family, value: r.last })}`;
}

/**
 * Which allocated addresses would fall outside the new spec's allocatable set (after exclusions,
 * reserved addresses and the gateway), as Go-style ranges; unparseable addresses are skipped.
 */
export function allocatedOutsidePool(spec: IPPoolSpec, allocated: readonly string[]): string[] {
  const inUse: Record<IPFamily, Range[]> = { 4: [], 6: [] };
  for (const text of allocated) {
    const ip = parseIP(text);
    if (ip.ok) inUse[ip.value.family].push({ first: ip.value.value, last: ip.value.value });
  }
  const pool = poolAllocatableSet(spec);
  const out: string[] = [];
  for (const family of [4, 6] as const) {
    let rest = IntervalSet.of(inUse[family]);
    if (pool.ok && pool.value.family === family) rest = rest.subtract(pool.value.addresses);
    out.push(...rest.ranges.map((r) => formatGoRange(family, r)));
  }
  return out;
}

/** Outcome of an admission check: allowed, or denied as the API server would report it. */
export type AdmissionCheck =
  | { allowed: true }
  | { allowed: false; reason: 'Invalid'; errors: FieldError[] }
  | { allowed: false; reason: 'BadRequest'; message: string };

export function validateIPPoolCreate(spec: IPPoolSpec, kind?: string): AdmissionCheck {
  const errors = validateIPPoolSpec(spec, kind);
  return errors.length === 0 ? { allowed: true } : { allowed: false, reason: 'Invalid', errors };
}

/**
 * ValidateUpdate of the Go provider: the new spec must be valid, and every address allocated from
 * the pool (the `spec.address` of its IPAddresses) must stay allocatable under it. So shrinking
 * addresses, excluding, moving the gateway onto, or un-setting allocateReservedIPAddresses over an
 * allocated address is refused. `oldSpec` identifies nothing more than the caller already knows;
 * it is taken so a later rule (e.g. immutable fields) can use it without changing callers. Whether
 * a new pre-allocation names an address another claim holds is checked apart
 * (preAllocationsHeldByOthers), as it needs the controller's holders.
 */
export function validateIPPoolUpdate(
  _oldSpec: IPPoolSpec,
  newSpec: IPPoolSpec,
  allocated: readonly string[],
  kind?: string,
): AdmissionCheck {
  const created = validateIPPoolCreate(newSpec, kind);
  if (!created.allowed) return created;
  const outside = allocatedOutsidePool(newSpec, allocated);
  if (outside.length === 0) return { allowed: true };
  return { allowed: false, reason: 'BadRequest', message: `${MSG_UPDATE_ORPHANS}: [${outside.join(' ')}]` };
}

/**
 * ValidateDelete of the Go provider: refused while IPAddresses reference the pool, unless the pool
 * carries the skip annotation (any value), which clusterctl move sets.
 */
export function validateIPPoolDelete(pool: KubeObject, allocatedCount: number): AdmissionCheck {
  if (hasAnnotation(pool, ANNOTATION_SKIP_VALIDATE_DELETE_WEBHOOK)) return { allowed: true };
  if (allocatedCount > 0) return { allowed: false, reason: 'BadRequest', message: MSG_DELETE_IN_USE };
  return { allowed: true };
}
