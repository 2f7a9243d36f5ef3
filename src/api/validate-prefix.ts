/**
 * Defaulting, validation and admission warnings of prefix pools (anchor §2.2), pure, with the Go
 * provider's messages. The webhooks and the controller (which must survive a bad pool that got in
 * while webhooks were off) both use them.
 */
import {
  candidateIndex,
  parseCIDR,
  parseEntry,
  parseIP,
  parsePrefix,
  prefixCandidates,
} from '../ip/index.js';
import { type FieldError, invalid, required } from './errors.js';
import { effectiveAllocationPrefixLength, type PrefixPoolSpec } from './prefixpool-types.js';
import { prefixPoolSpecV1Alpha2For } from './schema/prefixpool.js';
import { validateAgainstSchema } from './schema/structural.js';
import type { AdmissionCheck } from './validate.js';
import { validatePrefixPoolExtensions } from './validate-extensions.js';

export const MSG_PREFIXES_REQUIRED = 'prefixes is required';
export const MSG_ALLOCATION_LENGTH_RANGE = 'allocationPrefixLength must be between 1 and 128';
export const MSG_NOT_IPV6_CIDR = 'provided entry is not a valid IPv6 CIDR';
export const MSG_ONLY_IPV6_PREFIXES = 'only IPv6 prefixes are supported';
export const MSG_NOT_ALIGNED = 'CIDR must be network-aligned';
export const MSG_GATEWAY_NOT_IPV6 = 'provided gateway must be IPv6';
export const MSG_EXCLUDED_NOT_VALID = 'provided entry is not a valid IP, range, nor CIDR';
export const MSG_ONLY_IPV6_EXCLUDED = 'only IPv6 excluded prefixes are supported';
export const MSG_ALLOCATION_LENGTH_IMMUTABLE = 'spec.allocationPrefixLength is immutable';
export const MSG_NON_ALLOCATABLE = 'existing allocations become non-allocatable';
export const WARN_HOST_LIKE =
  'spec.allocationPrefixLength=128 behaves like host-address allocation; consider InClusterIPPool for single-address semantics';
export const WARN_GATEWAY_COLLISION =
  'spec.gateway is within spec.prefixes and is not reserved; with /128 allocationPrefixLength it may also be allocated to claims';

export const msgPrefixTooShort = (allocLen: number) =>
  `CIDR prefix length must be <= allocationPrefixLength (${allocLen})`;

/** The Go provider's Default: allocationPrefixLength 64 when unset or 0. Returns a copy. */
export function defaultPrefixPoolSpec(spec: PrefixPoolSpec): PrefixPoolSpec {
  return { ...spec, allocationPrefixLength: effectiveAllocationPrefixLength(spec) };
}

/**
 * Every rule of the Go provider's `validate`, in its order (it stops early where Go returns), then
 * the rules of our own fields (validate-extensions.ts). `kind` as for validateIPPoolSpec: without
 * it, a pre-allocation's namespace and the namespaceSelector are not checked against the scope.
 */
export function validatePrefixPoolSpec(spec: PrefixPoolSpec, kind?: string): FieldError[] {
  const errors = validateGoRules(spec);
  return [...errors, ...validatePrefixPoolExtensions(spec, kind, errors.length === 0)];
}

/** The Go provider's rules alone. */
function validateGoRules(spec: PrefixPoolSpec): FieldError[] {
  const prefixes = spec.prefixes ?? [];
  if (prefixes.length === 0) return [invalid('spec.prefixes', spec.prefixes, MSG_PREFIXES_REQUIRED)];
  const allocLen = effectiveAllocationPrefixLength(spec);
  if (!Number.isInteger(allocLen) || allocLen < 1 || allocLen > 128) {
    return [invalid('spec.allocationPrefixLength', allocLen, MSG_ALLOCATION_LENGTH_RANGE)];
  }
  const errors: FieldError[] = [];
  for (const text of prefixes) {
    const cidr = parseCIDR(text);
    if (!cidr.ok) {
      errors.push(invalid('spec.prefixes', text, MSG_NOT_IPV6_CIDR));
      continue;
    }
    if (cidr.value.family === 4) {
      errors.push(invalid('spec.prefixes', text, MSG_ONLY_IPV6_PREFIXES));
      continue;
    }
    if (cidr.value.hostBitsSet) errors.push(invalid('spec.prefixes', text, MSG_NOT_ALIGNED));
    if (cidr.value.prefixLength > allocLen)
      errors.push(invalid('spec.prefixes', text, msgPrefixTooShort(allocLen)));
  }
  if (spec.gateway !== undefined && spec.gateway !== '') {
    const gateway = parseIP(spec.gateway);
    if (!gateway.ok) errors.push(invalid('spec.gateway', spec.gateway, gateway.error));
    else if (gateway.value.family !== 6)
      errors.push(invalid('spec.gateway', spec.gateway, MSG_GATEWAY_NOT_IPV6));
  }
  for (const text of spec.excludedPrefixes ?? []) {
    const entry = parseEntry(text);
    if (!entry.ok) errors.push(invalid('spec.excludedPrefixes', text, MSG_EXCLUDED_NOT_VALID));
    else if (entry.value.family === 4)
      errors.push(invalid('spec.excludedPrefixes', text, MSG_ONLY_IPV6_EXCLUDED));
  }
  return errors;
}

/**
 * The spec of an object of unknown shape, checked against the v1alpha2 schema's types and required
 * fields (bounds are left to the Go rules, so its messages stay), null optional fields dropped.
 * `kind` picks the kind's schema; without it, the union of both kinds' fields is checked.
 */
export function prefixSpecOfShape(
  pool: unknown,
  kind?: string,
): { spec: PrefixPoolSpec } | { errors: FieldError[] } {
  const raw = typeof pool === 'object' && pool !== null ? (pool as { spec?: unknown }).spec : undefined;
  if (raw === undefined || raw === null) return { errors: [required('spec')] };
  const errors = validateAgainstSchema(prefixPoolSpecV1Alpha2For(kind), raw, 'spec', { typesOnly: true });
  if (errors.length > 0) return { errors };
  const spec = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== null));
  return { spec: spec as unknown as PrefixPoolSpec };
}

/**
 * Shape and rules together, for the controller: empty when the pool can be allocated from. The
 * kind is `kind`, else the object's own `kind` when it has one.
 */
export function validatePrefixPoolObject(
  pool: { spec?: unknown; kind?: unknown },
  kind?: string,
): FieldError[] {
  const poolKind = kind ?? (typeof pool.kind === 'string' ? pool.kind : undefined);
  const shaped = prefixSpecOfShape(pool, poolKind);
  return 'errors' in shaped ? shaped.errors : validatePrefixPoolSpec(shaped.spec, poolKind);
}

export function validatePrefixPoolCreate(spec: PrefixPoolSpec, kind?: string): AdmissionCheck {
  const errors = validatePrefixPoolSpec(spec, kind);
  return errors.length === 0 ? { allowed: true } : { allowed: false, reason: 'Invalid', errors };
}

/**
 * Allocated prefixes (`network/length` as the controller holds them, or any CIDR) that the spec
 * would no longer hand out: wrong length, outside the prefixes or overlapping an excluded entry.
 * Their addresses are returned sorted, as the Go provider lists `spec.address`.
 */
export function allocationsNotAllocatable(spec: PrefixPoolSpec, allocated: readonly string[]): string[] {
  const candidates = prefixCandidates({
    prefixes: spec.prefixes ?? [],
    allocationPrefixLength: effectiveAllocationPrefixLength(spec),
    excludedPrefixes: spec.excludedPrefixes,
  });
  const out: string[] = [];
  for (const text of allocated) {
    const prefix = parsePrefix(text);
    if (!candidates.ok || !prefix.ok || candidateIndex(candidates.value, prefix.value) === undefined) {
      const slash = text.lastIndexOf('/');
      out.push(slash < 0 ? text : text.slice(0, slash));
    }
  }
  return out.sort();
}

/**
 * ValidateUpdate of the Go provider: the new spec must be valid, allocationPrefixLength must not
 * change, and every prefix allocated from the pool must stay allocatable. Gateway changes are free.
 */
export function validatePrefixPoolUpdate(
  oldSpec: PrefixPoolSpec,
  newSpec: PrefixPoolSpec,
  allocated: readonly string[],
  kind?: string,
): AdmissionCheck {
  const created = validatePrefixPoolCreate(newSpec, kind);
  if (!created.allowed) return created;
  if (effectiveAllocationPrefixLength(oldSpec) !== effectiveAllocationPrefixLength(newSpec)) {
    return { allowed: false, reason: 'BadRequest', message: MSG_ALLOCATION_LENGTH_IMMUTABLE };
  }
  const lost = allocationsNotAllocatable(newSpec, allocated);
  if (lost.length === 0) return { allowed: true };
  return { allowed: false, reason: 'BadRequest', message: `${MSG_NON_ALLOCATABLE}: [${lost.join(' ')}]` };
}

/** The Go provider's warnings for a valid spec handing out /128s. */
export function prefixPoolWarnings(spec: PrefixPoolSpec): string[] {
  if (effectiveAllocationPrefixLength(spec) !== 128) return [];
  const warnings = [WARN_HOST_LIKE];
  if (!spec.gateway) return warnings;
  const gateway = parseIP(spec.gateway);
  if (!gateway.ok || gateway.value.family !== 6) return warnings;
  const inside = (spec.prefixes ?? []).some((text) => {
    const cidr = parseCIDR(text);
    return (
      cidr.ok &&
      cidr.value.family === 6 &&
      gateway.value.value >= cidr.value.first &&
      gateway.value.value <= cidr.value.last
    );
  });
  return inside ? [...warnings, WARN_GATEWAY_COLLISION] : warnings;
}
