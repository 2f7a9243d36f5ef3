/**
 * Conversion of the IP pool kinds between v1alpha1 (deprecated, served) and v1alpha2 (stored), as
 * pure functions; the /convert webhook wraps them.
 *
 * The spec mapping is the Go provider's (anchor §1.3): `subnet` defaults `start` to its second and
 * `end` to its second-to-last address and `prefix` to its length, and `start-end` is appended to
 * `addresses`. Unlike the Go provider, nothing is lost in either direction. Both directions keep
 * what the other version cannot hold in the annotation `cluster.x-k8s.io/conversion-data` (the key
 * and JSON shape Cluster API's MarshalData uses, so objects the Go provider wrote keep working):
 * - a stored v1alpha2 object keeps the v1alpha1 view (subnet/start/end) it was written with;
 * - a v1alpha1 object handed to a client keeps the v1alpha2-only fields (excludedAddresses,
 *   allocateReservedIPAddresses, addressReuseGracePeriodSeconds, and ours: preAllocations,
 *   namespaceSelector, allocationStrategy), and they come back when the client writes the object
 *   again. Status has one shape in both versions and passes through as it is.
 */
import { familyMax, formatIP, parseCIDR } from '../ip/index.js';
import {
  ANNOTATION_CONVERSION_DATA,
  IPAM_GROUP,
  POOL_VERSION_V1ALPHA1,
  POOL_VERSION_V1ALPHA2,
} from './constants.js';
import { type FieldError, invalid, required } from './errors.js';
import type { IPPool, IPPoolSpec, IPPoolSpecV1Alpha1, IPPoolV1Alpha1 } from './ippool-types.js';
import type { KubeObject, ObjectMeta } from './meta.js';
import type { JSONSchemaProps } from './schema/builder.js';
import { ipPoolSpecV1Alpha1, ipPoolSpecV1Alpha2For } from './schema/ippool.js';
import { validateAgainstSchema } from './schema/structural.js';

export const API_VERSION_V1ALPHA1 = `${IPAM_GROUP}/${POOL_VERSION_V1ALPHA1}`;
export const API_VERSION_V1ALPHA2 = `${IPAM_GROUP}/${POOL_VERSION_V1ALPHA2}`;

export type ConversionResult<T> = { ok: true; object: T } | { ok: false; error: FieldError };

/** Go's `Addr.Next()/Prev()` print "invalid IP" when they run off the end of the family. */
function neighbour(family: 4 | 6, value: bigint, step: 1n | -1n): string {
  const next = value + step;
  if (next < 0n || next > familyMax(family)) return 'invalid IP';
  return formatIP({ family, value: next });
}

/**
 * v1alpha1 spec → v1alpha2 spec. Also returns the v1alpha1 spec with start/end/prefix defaulted
 * from the subnet: that is the view a v1alpha1 client reads back (as with the Go provider).
 */
export function convertIPPoolSpecToV1Alpha2(
  spec: IPPoolSpecV1Alpha1,
): ConversionResult<{ spec: IPPoolSpec; defaulted: IPPoolSpecV1Alpha1 }> {
  const defaulted: IPPoolSpecV1Alpha1 = { ...spec };
  if (spec.subnet) {
    const subnet = parseCIDR(spec.subnet);
    if (!subnet.ok) return { ok: false, error: invalid('spec.subnet', spec.subnet, subnet.error) };
    const { family, first, last, prefixLength } = subnet.value;
    if (!defaulted.start) defaulted.start = neighbour(family, first, 1n); // skips the network address
    if (!defaulted.end) defaulted.end = neighbour(family, last, -1n); // skips the broadcast address
    if (!defaulted.prefix) defaulted.prefix = prefixLength;
  }
  const addresses = [...(spec.addresses ?? [])];
  if (defaulted.start && defaulted.end) addresses.push(`${defaulted.start}-${defaulted.end}`);
  const out: IPPoolSpec = { addresses, prefix: defaulted.prefix ?? 0 };
  if (spec.gateway) out.gateway = spec.gateway;
  return { ok: true, object: { spec: out, defaulted: compactV1Alpha1(defaulted) } };
}

/** v1alpha2 spec → v1alpha1 spec: the fields both versions have. */
export function convertIPPoolSpecToV1Alpha1(spec: IPPoolSpec): IPPoolSpecV1Alpha1 {
  return compactV1Alpha1({ addresses: [...spec.addresses], prefix: spec.prefix, gateway: spec.gateway });
}

/** Drops zero values, as Go's `omitempty` does for every v1alpha1 field. */
function compactV1Alpha1(spec: IPPoolSpecV1Alpha1): IPPoolSpecV1Alpha1 {
  const out: IPPoolSpecV1Alpha1 = {};
  if (spec.addresses && spec.addresses.length > 0) out.addresses = [...spec.addresses];
  if (spec.subnet) out.subnet = spec.subnet;
  if (spec.start) out.start = spec.start;
  if (spec.end) out.end = spec.end;
  if (spec.prefix) out.prefix = spec.prefix;
  if (spec.gateway) out.gateway = spec.gateway;
  return out;
}

/** The v1alpha2-only fields, which a v1alpha1 object carries in the conversion annotation. */
const V1ALPHA2_ONLY = [
  'allocateReservedIPAddresses',
  'excludedAddresses',
  'addressReuseGracePeriodSeconds',
  'preAllocations',
  'namespaceSelector',
  'allocationStrategy',
] as const;

function hasV1Alpha2OnlyFields(spec: IPPoolSpec): boolean {
  return (
    spec.allocateReservedIPAddresses === true ||
    (spec.excludedAddresses !== undefined && spec.excludedAddresses.length > 0) ||
    spec.addressReuseGracePeriodSeconds !== undefined ||
    (spec.preAllocations !== undefined && spec.preAllocations.length > 0) ||
    spec.namespaceSelector !== undefined ||
    spec.allocationStrategy !== undefined
  );
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Puts the saved v1alpha2-only fields back on a spec converted up from v1alpha1. Each is taken
 * only in the shape the schema allows; anything else (an annotation edited by hand) is left out
 * rather than stored, and the webhook's validation of the v1alpha2 object judges the rest.
 */
function restoreV1Alpha2Only(spec: IPPoolSpec, saved: Record<string, unknown>): void {
  if (saved.allocateReservedIPAddresses === true) spec.allocateReservedIPAddresses = true;
  if (Array.isArray(saved.excludedAddresses)) {
    spec.excludedAddresses = saved.excludedAddresses.filter((a) => typeof a === 'string');
  }
  if (typeof saved.addressReuseGracePeriodSeconds === 'number') {
    spec.addressReuseGracePeriodSeconds = saved.addressReuseGracePeriodSeconds;
  }
  if (Array.isArray(saved.preAllocations)) {
    spec.preAllocations = saved.preAllocations.filter(isRecord) as unknown as IPPoolSpec['preAllocations'];
  }
  if (isRecord(saved.namespaceSelector)) {
    spec.namespaceSelector = saved.namespaceSelector as IPPoolSpec['namespaceSelector'];
  }
  if (typeof saved.allocationStrategy === 'string') {
    spec.allocationStrategy = saved.allocationStrategy as IPPoolSpec['allocationStrategy'];
  }
}

interface ConversionData {
  apiVersion?: string;
  kind?: string;
  spec?: Record<string, unknown>;
}

/**
 * Takes the conversion annotation off a copy of the metadata. Returns undefined data when the
 * annotation is absent or not ours (not a JSON object): then it is left in place untouched.
 */
function takeConversionData(meta: ObjectMeta | undefined): { meta: ObjectMeta; data?: ConversionData } {
  const copy: ObjectMeta = { ...(meta ?? {}) };
  const raw = copy.annotations?.[ANNOTATION_CONVERSION_DATA];
  if (raw === undefined) return { meta: copy };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return { meta: copy };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return { meta: copy };
  const annotations = { ...copy.annotations };
  delete annotations[ANNOTATION_CONVERSION_DATA];
  if (Object.keys(annotations).length > 0) copy.annotations = annotations;
  else delete copy.annotations;
  return { meta: copy, data: parsed as ConversionData };
}

function putConversionData(meta: ObjectMeta, data: ConversionData): ObjectMeta {
  return {
    ...meta,
    annotations: { ...(meta.annotations ?? {}), [ANNOTATION_CONVERSION_DATA]: JSON.stringify(data) },
  };
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function asSpecV1Alpha1(spec: Record<string, unknown>): IPPoolSpecV1Alpha1 {
  const out: IPPoolSpecV1Alpha1 = {};
  if (Array.isArray(spec.addresses)) out.addresses = spec.addresses.filter((a) => typeof a === 'string');
  for (const key of ['subnet', 'start', 'end', 'gateway'] as const) {
    const v = spec[key];
    if (typeof v === 'string') out[key] = v;
  }
  if (typeof spec.prefix === 'number') out.prefix = spec.prefix;
  return out;
}

/** A v1alpha1 pool (either kind) → v1alpha2. */
export function convertIPPoolToV1Alpha2(obj: IPPoolV1Alpha1): ConversionResult<IPPool> {
  const converted = convertIPPoolSpecToV1Alpha2(obj.spec ?? {});
  if (!converted.ok) return converted;
  const { spec, defaulted } = converted.object;
  const { meta, data } = takeConversionData(obj.metadata);
  // Written by convertIPPoolToV1Alpha1: v1alpha1 cannot change these fields, so restore them as they were.
  if (data?.apiVersion === API_VERSION_V1ALPHA2 && data.spec) restoreV1Alpha2Only(spec, data.spec);
  // Only a subnet/start/end pool needs its v1alpha1 view saved; plain addresses convert back as they are.
  const needsView =
    defaulted.subnet !== undefined || defaulted.start !== undefined || defaulted.end !== undefined;
  const out: IPPool = {
    ...obj,
    apiVersion: API_VERSION_V1ALPHA2,
    metadata: needsView
      ? putConversionData(meta, { apiVersion: API_VERSION_V1ALPHA1, kind: obj.kind, spec: { ...defaulted } })
      : meta,
    spec,
  };
  if (out.metadata && Object.keys(out.metadata).length === 0 && obj.metadata === undefined)
    delete out.metadata;
  return { ok: true, object: out };
}

/** A v1alpha2 pool (either kind) → v1alpha1. Never fails: bad saved data is ignored. */
export function convertIPPoolToV1Alpha1(obj: IPPool): ConversionResult<IPPoolV1Alpha1> {
  const { meta, data } = takeConversionData(obj.metadata);
  let spec = convertIPPoolSpecToV1Alpha1(obj.spec);
  // The Go provider writes this data without apiVersion in unit tests; on a v1alpha2 object it can
  // only be a v1alpha1 view.
  if (data?.spec && (data.apiVersion === API_VERSION_V1ALPHA1 || data.apiVersion === undefined)) {
    const saved = asSpecV1Alpha1(data.spec);
    const again = convertIPPoolSpecToV1Alpha2(saved);
    // Show the saved subnet/start/end only while they still describe the stored pool; the Go provider
    // skips this check for GlobalInClusterIPPool and can show a stale view.
    if (
      again.ok &&
      sameStrings(again.object.spec.addresses, obj.spec.addresses) &&
      again.object.spec.prefix === obj.spec.prefix &&
      (again.object.spec.gateway ?? '') === (obj.spec.gateway ?? '')
    ) {
      spec = compactV1Alpha1(saved);
    }
  }
  let metadata = meta;
  if (hasV1Alpha2OnlyFields(obj.spec)) {
    const saved: Record<string, unknown> = {};
    for (const key of V1ALPHA2_ONLY) if (obj.spec[key] !== undefined) saved[key] = obj.spec[key];
    metadata = putConversionData(meta, { apiVersion: API_VERSION_V1ALPHA2, kind: obj.kind, spec: saved });
  }
  const out: IPPoolV1Alpha1 = { ...obj, apiVersion: API_VERSION_V1ALPHA1, metadata, spec };
  if (Object.keys(metadata).length === 0 && obj.metadata === undefined) delete out.metadata;
  return { ok: true, object: out };
}

/** The first schema error of a spec (null optional fields count as absent), if any. */
function shapeErrors(schema: JSONSchemaProps, spec: unknown): FieldError | undefined {
  if (spec === undefined || spec === null) return required('spec');
  return validateAgainstSchema(schema, spec, 'spec', { typesOnly: true })[0];
}

/**
 * Converts an IP pool object to `desiredAPIVersion`, as a ConversionReview asks. Objects already
 * in that version come back unchanged.
 */
export function convertIPPool(obj: KubeObject, desiredAPIVersion: string): ConversionResult<KubeObject> {
  if (obj.apiVersion === desiredAPIVersion) return { ok: true, object: obj };
  const metadata: unknown = obj.metadata;
  if (
    metadata !== undefined &&
    (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))
  ) {
    return { ok: false, error: invalid('metadata', metadata, 'must be an object') };
  }
  if (obj.apiVersion === API_VERSION_V1ALPHA1 && desiredAPIVersion === API_VERSION_V1ALPHA2) {
    // The API server sends what it stored or was sent; a webhook still checks the shape first.
    const shape = shapeErrors(ipPoolSpecV1Alpha1, (obj as IPPoolV1Alpha1).spec ?? {});
    return shape ? { ok: false, error: shape } : convertIPPoolToV1Alpha2(obj as IPPoolV1Alpha1);
  }
  if (obj.apiVersion === API_VERSION_V1ALPHA2 && desiredAPIVersion === API_VERSION_V1ALPHA1) {
    const shape = shapeErrors(ipPoolSpecV1Alpha2For(obj.kind), (obj as IPPool).spec);
    return shape ? { ok: false, error: shape } : convertIPPoolToV1Alpha1(obj as IPPool);
  }
  return {
    ok: false,
    error: invalid('apiVersion', obj.apiVersion ?? '', `cannot convert to ${desiredAPIVersion}`),
  };
}
