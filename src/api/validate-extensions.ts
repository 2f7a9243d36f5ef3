/**
 * Validation of the fields every pool kind has beyond the Go provider's — `preAllocations`,
 * `namespaceSelector` (Global kinds) and `allocationStrategy` — pure, for the webhooks and the
 * controller alike. Messages name the field first, as the Go provider's do
 * (`spec.preAllocations[0].address: Invalid value: "10.0.0.1": provided address is the gateway, …`).
 */
import {
  formatIP,
  formatPrefix,
  IntervalSet,
  type IPFamily,
  parseCIDR,
  parseEntries,
  parseEntry,
  parseIP,
  parsePrefix,
  poolAllocatableSet,
  type Range,
} from '../ip/index.js';
import {
  ALLOCATION_STRATEGIES,
  isAllocationStrategy,
  isGlobalPoolKind,
  isPoolKind,
  isPrefixPoolKind,
} from './constants.js';
import { type FieldError, invalid, required } from './errors.js';
import type { IPPoolSpec, PreAllocation } from './ippool-types.js';
import { isDNS1123Label, isDNS1123Subdomain } from './names.js';
import { effectiveAllocationPrefixLength, type PrefixPoolSpec } from './prefixpool-types.js';
import { parseLabelSelector } from './selector.js';

export const MSG_PIN_NOT_IP = 'provided address is not a single valid IP';
export const MSG_PIN_FAMILY = 'provided address and addresses are of mixed IP families';
export const MSG_PIN_OUTSIDE = 'provided address is not in spec.addresses';
export const MSG_PIN_EXCLUDED = 'provided address is excluded by spec.excludedAddresses';
export const MSG_PIN_GATEWAY = 'provided address is the gateway (spec.gateway), which is never handed out';
export const MSG_PIN_NOT_ALLOCATABLE = 'provided address is not one the pool can hand out';
export const MSG_PIN_PREFIX_NOT_CIDR = 'provided entry is not a valid IPv6 CIDR';
export const MSG_PIN_PREFIX_IPV4 = 'only IPv6 prefixes are supported';
export const MSG_PIN_PREFIX_NOT_ALIGNED = 'CIDR must be network-aligned';
export const MSG_PIN_PREFIX_OUTSIDE = 'provided prefix is not inside spec.prefixes';
export const MSG_PIN_PREFIX_EXCLUDED = 'provided prefix overlaps spec.excludedPrefixes';
export const MSG_PIN_NAMESPACE_REQUIRED =
  'the namespace of the claim is required: a Global pool serves claims of every namespace';
export const msgPinNamespaceForbidden = (kind: string) =>
  `an ${kind} serves only claims of its own namespace; leave namespace unset`;
export const msgSelectorForbidden = (kind: string) =>
  `an ${kind} serves only claims of its own namespace; only the Global pool kinds select namespaces`;
export const msgPinPrefixLength = (allocLen: number) =>
  `prefix length must be allocationPrefixLength (${allocLen})`;
export const msgPinAddressTwice = (first: number) =>
  `pre-allocated twice: spec.preAllocations[${first}] has the same address`;
export const msgPinClaimTwice = (claim: string, first: number) =>
  `claim ${claim} is pre-allocated twice: spec.preAllocations[${first}] names it too; a claim gets one address`;
export const msgPinHeld = (holder: string) =>
  `provided address is already held by claim ${holder} (IPAddress ${holder}); pre-allocate a free address, or release it first`;

const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/**
 * The claim a pin is for, as the controller keys claims and IPAddresses: `namespace/name`. In a
 * namespaced pool that is the pool's namespace; in a Global pool the pin's own.
 */
export function preAllocationClaimKey(
  kind: string | undefined,
  poolNamespace: string | undefined,
  pin: Pick<PreAllocation, 'claimName' | 'namespace'>,
): string {
  const namespace = kind !== undefined && isGlobalPoolKind(kind) ? pin.namespace : poolNamespace;
  return `${namespace ?? ''}/${pin.claimName}`;
}

/**
 * A pin's address as the controller's registry holds it: the canonical IP for IP pools, the masked
 * `network/length` for prefix pools. Undefined when it does not parse.
 */
export function canonicalPreAllocationAddress(kind: string | undefined, address: string): string | undefined {
  if (kind !== undefined && isPrefixPoolKind(kind)) {
    const prefix = parsePrefix(address);
    return prefix.ok ? formatPrefix(prefix.value) : undefined;
  }
  const ip = parseIP(address);
  return ip.ok ? formatIP(ip.value) : undefined;
}

/**
 * A pool's pins as the controller needs them: claim key (`namespace/name`) → the address in the
 * registry's form. Pins that do not parse are left out (a valid pool has none); of two pins for one
 * claim (neither has a valid pool) the first wins.
 */
export function preAllocatedAddresses(
  kind: string,
  poolNamespace: string | undefined,
  spec: { preAllocations?: readonly PreAllocation[] | undefined },
): Map<string, string> {
  const out = new Map<string, string>();
  for (const pin of spec.preAllocations ?? []) {
    if (typeof pin?.claimName !== 'string' || typeof pin.address !== 'string') continue;
    const address = canonicalPreAllocationAddress(kind, pin.address);
    const key = preAllocationClaimKey(kind, poolNamespace, pin);
    if (address !== undefined && !out.has(key)) out.set(key, address);
  }
  return out;
}

/** `spec.allocationStrategy`: one of the enum, with the words the API server uses for an enum. */
function validateStrategy(value: unknown): FieldError[] {
  if (value === undefined || value === null || isAllocationStrategy(value)) return [];
  return [
    {
      type: 'FieldValueNotSupported',
      field: 'spec.allocationStrategy',
      badValue: value,
      detail: `supported values: ${ALLOCATION_STRATEGIES.map((v) => JSON.stringify(v)).join(', ')}`,
    },
  ];
}

/** `spec.namespaceSelector`: a valid label selector on Global kinds, absent on namespaced ones. */
function validateNamespaceSelector(kind: string | undefined, value: unknown): FieldError[] {
  if (value === undefined || value === null) return [];
  if (kind !== undefined && isPoolKind(kind) && !isGlobalPoolKind(kind)) {
    return [
      { type: 'FieldValueForbidden', field: 'spec.namespaceSelector', detail: msgSelectorForbidden(kind) },
    ];
  }
  const parsed = parseLabelSelector(value, 'spec.namespaceSelector');
  return parsed.ok ? [] : parsed.errors;
}

/**
 * The rules every pin follows whatever the pool's unit, by pin: claimName a DNS-1123 subdomain;
 * namespace a DNS-1123 label, required in Global kinds and forbidden in namespaced ones (unknown
 * kind: neither); no claim twice. The address is left to the unit's rules.
 */
function pinClaimErrors(kind: string | undefined, pins: readonly unknown[]): FieldError[][] {
  const known = kind !== undefined && isPoolKind(kind);
  const global = known && isGlobalPoolKind(kind);
  const seen = new Map<string, number>();
  return pins.map((raw, i) => {
    const errors: FieldError[] = [];
    const at = `spec.preAllocations[${i}]`;
    const pin = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
    const claimName = text(pin.claimName);
    const namespace = text(pin.namespace);
    const hasNamespace = namespace !== undefined && namespace !== '';
    if (claimName === undefined || claimName === '') errors.push(required(`${at}.claimName`));
    else
      for (const msg of isDNS1123Subdomain(claimName))
        errors.push(invalid(`${at}.claimName`, claimName, msg));
    if (!hasNamespace) {
      if (global) errors.push(required(`${at}.namespace`, MSG_PIN_NAMESPACE_REQUIRED));
    } else if (known && !global) {
      errors.push({
        type: 'FieldValueForbidden',
        field: `${at}.namespace`,
        detail: msgPinNamespaceForbidden(kind),
      });
    } else {
      for (const msg of isDNS1123Label(namespace)) errors.push(invalid(`${at}.namespace`, namespace, msg));
    }
    // A Global pool's pin without a namespace names no claim yet: it is reported above, not compared.
    if (claimName === undefined || claimName === '' || (global && !hasNamespace)) return errors;
    // Without a kind, a pin's namespace (if any) is taken as written: pins of one name in two
    // namespaces are two claims.
    const claim = hasNamespace ? `${namespace}/${claimName}` : claimName;
    const first = seen.get(claim);
    if (first === undefined) seen.set(claim, i);
    else {
      errors.push({
        type: 'FieldValueDuplicate',
        field: `${at}.claimName`,
        badValue: claimName,
        detail: msgPinClaimTwice(claim, first),
      });
    }
    return errors;
  });
}

/** The pins of a spec: entries of any shape (the rules report what is wrong with each). */
function pinsOf(spec: { preAllocations?: unknown }): readonly unknown[] {
  return Array.isArray(spec.preAllocations) ? spec.preAllocations : [];
}

/** Duplicate addresses, by their canonical form. */
function duplicateAddress(
  seen: Map<string, number>,
  canonical: string,
  i: number,
  address: string,
): FieldError | undefined {
  const first = seen.get(canonical);
  if (first === undefined) {
    seen.set(canonical, i);
    return undefined;
  }
  return {
    type: 'FieldValueDuplicate',
    field: `spec.preAllocations[${i}].address`,
    badValue: address,
    detail: msgPinAddressTwice(first),
  };
}

/** Why an IP the pool's allocatable set lacks is not in it, in the order the set is computed. */
function whyNotAllocatableIP(spec: IPPoolSpec, family: IPFamily, value: bigint): string {
  const set = poolAllocatableSet(spec);
  if (!set.ok) return MSG_PIN_NOT_ALLOCATABLE;
  if (set.value.family !== family) return MSG_PIN_FAMILY;
  const pool = parseEntries(spec.addresses ?? []);
  const inPool = pool.ok && (family === 4 ? pool.value.v4 : pool.value.v6).contains(value);
  if (!inPool) return MSG_PIN_OUTSIDE;
  const excluded = parseEntries(spec.excludedAddresses ?? []);
  if (excluded.ok && (family === 4 ? excluded.value.v4 : excluded.value.v6).contains(value))
    return MSG_PIN_EXCLUDED;
  const { subnet, gateway } = set.value;
  if (spec.allocateReservedIPAddresses !== true && subnet !== undefined) {
    const cidr = `${formatIP({ family, value: subnet.first })}/${spec.prefix}`;
    const unless = 'which is reserved unless allocateReservedIPAddresses is true';
    if (value === subnet.first) {
      const what = family === 4 ? 'network address' : 'subnet-router anycast address';
      return `provided address is the ${what} of the subnet ${cidr}, ${unless}`;
    }
    if (family === 4 && value === subnet.last) {
      return `provided address is the broadcast address of the subnet ${cidr}, ${unless}`;
    }
  }
  if (gateway !== undefined && gateway.family === family && gateway.value === value) return MSG_PIN_GATEWAY;
  return MSG_PIN_NOT_ALLOCATABLE;
}

/**
 * Every rule of an IP pool's pins. `poolValid`: the rest of the spec passed, so the allocatable set
 * exists and each address can be checked against it; otherwise only the pins' own form is.
 */
function validateIPPins(spec: IPPoolSpec, kind: string | undefined, poolValid: boolean): FieldError[] {
  if (pinsOf(spec).length === 0) return [];
  const set = poolValid ? poolAllocatableSet(spec) : undefined;
  const seen = new Map<string, number>();
  return eachPinAddress(spec, kind, (errors, at, address, i) => {
    const ip = parseIP(address);
    if (!ip.ok) {
      errors.push(invalid(at, address, `${MSG_PIN_NOT_IP}: ${ip.error}`));
      return;
    }
    const duplicate = duplicateAddress(seen, formatIP(ip.value), i, address);
    if (duplicate) errors.push(duplicate);
    if (set?.ok && (set.value.family !== ip.value.family || !set.value.addresses.contains(ip.value.value))) {
      errors.push(invalid(at, address, whyNotAllocatableIP(spec, ip.value.family, ip.value.value)));
    }
  });
}

/** Every rule of a prefix pool's pins; `poolValid` as for IP pools. */
function validatePrefixPins(
  spec: PrefixPoolSpec,
  kind: string | undefined,
  poolValid: boolean,
): FieldError[] {
  if (pinsOf(spec).length === 0) return [];
  const allocLen = effectiveAllocationPrefixLength(spec);
  const prefixes: Range[] = [];
  const excluded: Range[] = [];
  if (poolValid) {
    for (const entry of spec.prefixes ?? []) {
      const cidr = parseCIDR(entry);
      // Prefixes longer than the children hold none whole (the Go provider's search skips them too).
      if (cidr.ok && cidr.value.family === 6 && cidr.value.prefixLength <= allocLen)
        prefixes.push(cidr.value);
    }
    for (const entry of spec.excludedPrefixes ?? []) {
      const parsed = parseEntry(entry);
      if (parsed.ok && parsed.value.family === 6) excluded.push(parsed.value);
    }
  }
  const inside = IntervalSet.of(prefixes);
  const avoided = IntervalSet.of(excluded);
  const seen = new Map<string, number>();
  return eachPinAddress(spec, kind, (errors, at, address, i) => {
    const cidr = parseCIDR(address);
    if (!cidr.ok) {
      errors.push(invalid(at, address, MSG_PIN_PREFIX_NOT_CIDR));
      return;
    }
    if (cidr.value.family !== 6) {
      errors.push(invalid(at, address, MSG_PIN_PREFIX_IPV4));
      return;
    }
    if (cidr.value.hostBitsSet) {
      errors.push(invalid(at, address, MSG_PIN_PREFIX_NOT_ALIGNED));
      return;
    }
    const duplicate = duplicateAddress(
      seen,
      formatPrefix({ network: cidr.value.first, length: cidr.value.prefixLength }),
      i,
      address,
    );
    if (duplicate) errors.push(duplicate);
    if (
      Number.isInteger(allocLen) &&
      allocLen >= 1 &&
      allocLen <= 128 &&
      cidr.value.prefixLength !== allocLen
    ) {
      errors.push(invalid(at, address, msgPinPrefixLength(allocLen)));
      return;
    }
    if (!poolValid) return;
    const { first, last } = cidr.value;
    if (!inside.containsRange(first, last)) errors.push(invalid(at, address, MSG_PIN_PREFIX_OUTSIDE));
    else if (avoided.overlaps(IntervalSet.range(first, last))) {
      errors.push(invalid(at, address, MSG_PIN_PREFIX_EXCLUDED));
    }
  });
}

/**
 * The pins' checks both kinds share — the claim each names, an address present — then `check`
 * of each address, pushing into the same list; the errors in pin order.
 */
function eachPinAddress(
  spec: { preAllocations?: unknown },
  kind: string | undefined,
  check: (errors: FieldError[], at: string, address: string, index: number) => void,
): FieldError[] {
  const pins = pinsOf(spec);
  if (pins.length === 0) return [];
  const claimErrors = pinClaimErrors(kind, pins);
  const errors: FieldError[] = [];
  pins.forEach((raw, i) => {
    errors.push(...(claimErrors[i] ?? []));
    const at = `spec.preAllocations[${i}].address`;
    const address = text((raw as Record<string, unknown> | null)?.address);
    if (address === undefined || address === '') errors.push(required(at));
    else check(errors, at, address, i);
  });
  return errors;
}

/**
 * The fields of an IP pool beyond the Go provider's. `kind` decides whether a pin's namespace is
 * required (Global) or forbidden (namespaced) and whether a namespaceSelector may be set; without a
 * kind neither is checked. `poolValid`: the Go provider's rules passed (then each pin is checked
 * against the allocatable set, and told which rule keeps it out).
 */
export function validateIPPoolExtensions(
  spec: IPPoolSpec,
  kind: string | undefined,
  poolValid: boolean,
): FieldError[] {
  return [
    ...validateIPPins(spec, kind, poolValid),
    ...validateNamespaceSelector(kind, spec.namespaceSelector),
    ...validateStrategy(spec.allocationStrategy),
  ];
}

/** The fields of a prefix pool beyond the Go provider's; as {@link validateIPPoolExtensions}. */
export function validatePrefixPoolExtensions(
  spec: PrefixPoolSpec,
  kind: string | undefined,
  poolValid: boolean,
): FieldError[] {
  return [
    ...validatePrefixPins(spec, kind, poolValid),
    ...validateNamespaceSelector(kind, spec.namespaceSelector),
    ...validateStrategy(spec.allocationStrategy),
  ];
}

/** A pin as compared across an update: its claim key and its address in the registry's form. */
function pinIdentity(kind: string, poolNamespace: string | undefined, pin: PreAllocation): string {
  const address = canonicalPreAllocationAddress(kind, pin.address) ?? pin.address;
  return `${preAllocationClaimKey(kind, poolNamespace, pin)} ${address}`;
}

/**
 * The pins of `newSpec` that an update adds or changes (by claim and canonical address), by index.
 * Only these are checked against what other claims hold: a pin the pool already had was checked
 * when it was written, and an unrelated edit of the pool must not fail over it.
 */
export function changedPreAllocations(
  kind: string,
  poolNamespace: string | undefined,
  oldSpec: { preAllocations?: readonly PreAllocation[] | undefined } | undefined,
  newSpec: { preAllocations?: readonly PreAllocation[] | undefined },
): number[] {
  const before = new Set((oldSpec?.preAllocations ?? []).map((p) => pinIdentity(kind, poolNamespace, p)));
  const changed: number[] = [];
  (newSpec.preAllocations ?? []).forEach((pin, i) => {
    if (!before.has(pinIdentity(kind, poolNamespace, pin))) changed.push(i);
  });
  return changed;
}

/**
 * The update-time check: a pin added or changed by this update may not name an address another
 * claim already holds. `holders` maps each address of the pool in the registry's form to the
 * `namespace/name` of the claim (and IPAddress) holding it. A pin whose address its own claim holds
 * is fine. Warnings: a pinned claim that holds another address of the pool keeps that one.
 */
export function preAllocationsHeldByOthers(
  kind: string,
  poolNamespace: string | undefined,
  oldSpec: { preAllocations?: readonly PreAllocation[] | undefined } | undefined,
  newSpec: { preAllocations?: readonly PreAllocation[] | undefined },
  holders: ReadonlyMap<string, string>,
): { errors: FieldError[]; warnings: string[] } {
  const errors: FieldError[] = [];
  const warnings: string[] = [];
  const changed = changedPreAllocations(kind, poolNamespace, oldSpec, newSpec);
  if (changed.length === 0) return { errors, warnings };
  const pins = newSpec.preAllocations ?? [];
  const heldBy = new Map<string, string>();
  for (const [address, holder] of holders) if (!heldBy.has(holder)) heldBy.set(holder, address);
  for (const i of changed) {
    const pin = pins[i];
    if (pin === undefined) continue;
    const address = canonicalPreAllocationAddress(kind, pin.address);
    if (address === undefined) continue;
    const claim = preAllocationClaimKey(kind, poolNamespace, pin);
    const holder = holders.get(address);
    if (holder !== undefined && holder !== claim) {
      errors.push(invalid(`spec.preAllocations[${i}].address`, pin.address, msgPinHeld(holder)));
      continue;
    }
    const own = heldBy.get(claim);
    if (holder === undefined && own !== undefined) {
      warnings.push(
        `spec.preAllocations[${i}]: claim ${claim} already holds ${own} from this pool and keeps it; ` +
          `${pin.address} is kept for it and used only if the claim is allocated anew`,
      );
    }
  }
  return { errors, warnings };
}
