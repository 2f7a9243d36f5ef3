/**
 * AdmissionReview v1 and ConversionReview v1 handling, pure: a review in, a review out. The server
 * only moves bytes; every decision is made here with the validation of src/api.
 */
import { isDeepStrictEqual } from 'node:util';
import { ANNOTATION_SKIP_VALIDATE_DELETE_WEBHOOK, IPAM_GROUP } from '../api/constants.js';
import { convertIPPool } from '../api/convert.js';
import { badRequestStatus, formatFieldError, invalidStatus, type Status } from '../api/errors.js';
import type { IPPool } from '../api/ippool-types.js';
import { hasAnnotation, type KubeObject } from '../api/meta.js';
import {
  type AdmissionCheck,
  specOfShape,
  validateIPPoolCreate,
  validateIPPoolDelete,
  validateIPPoolUpdate,
} from '../api/validate.js';
import { changedPreAllocations, preAllocationsHeldByOthers } from '../api/validate-extensions.js';
import { ipPoolWarnings, type KnownPool } from '../api/warnings.js';

export interface AdmissionRequest {
  uid: string;
  kind?: { group: string; version: string; kind: string };
  name?: string;
  namespace?: string;
  operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  object?: unknown;
  oldObject?: unknown;
}

export interface AdmissionReview {
  apiVersion: string;
  kind: 'AdmissionReview';
  request?: AdmissionRequest;
  response?: {
    uid: string;
    allowed: boolean;
    status?: Status;
    patch?: string;
    patchType?: 'JSONPatch';
    warnings?: string[];
  };
}

/** What the webhooks need of the running controller: the addresses allocated from a pool. */
export interface AllocationView {
  /** undefined while the controller's caches are not synced: then updates/deletes are refused. */
  allocatedAddresses(
    kind: string,
    namespace: string | undefined,
    name: string,
  ): readonly string[] | undefined;
  /** Every pool the controller knows, for the overlap warning; undefined while not synced. */
  knownPools?(): Iterable<KnownPool> | undefined;
  /**
   * Who holds each address of a pool: the address as the registry holds it (the canonical IP for IP
   * pools, `network/len` for prefix pools) → the holder's `namespace/name`, which keys both the
   * claim and its IPAddress. For the update check that a new pre-allocation names no address
   * another claim holds; undefined while not synced (the update is then refused with 503). A view
   * without this method skips that check.
   */
  addressHolders?(
    kind: string,
    namespace: string | undefined,
    name: string,
  ): ReadonlyMap<string, string> | undefined;
}

/** What the update check of pre-allocations concludes: refused, or admitted with warnings. */
export type HeldCheck = { refused: AdmissionReview } | { warnings: string[] };

/**
 * The update-time check of pre-allocations, the same for every pool kind: a pin this update adds or
 * changes may not name an address another claim holds (checked against the controller's registry,
 * refused with 503 until it synced). Updates that add or change no pin do not ask the registry.
 */
export function checkPreAllocationHolders(
  review: AdmissionReview,
  req: AdmissionRequest,
  kind: string,
  name: string,
  oldSpec: { preAllocations?: IPPool['spec']['preAllocations'] } | undefined,
  newSpec: { preAllocations?: IPPool['spec']['preAllocations'] },
  view: AllocationView,
): HeldCheck {
  if (view.addressHolders === undefined) return { warnings: [] };
  const namespace = req.namespace || undefined;
  if (changedPreAllocations(kind, namespace, oldSpec, newSpec).length === 0) return { warnings: [] };
  const holders = view.addressHolders(kind, namespace, name);
  if (holders === undefined) return { refused: respond(review, false, { status: NOT_SYNCED }) };
  const { errors, warnings } = preAllocationsHeldByOthers(kind, namespace, oldSpec, newSpec, holders);
  if (errors.length === 0) return { warnings };
  return { refused: deny(review, { allowed: false, reason: 'Invalid', errors }, kind, name) };
}

export function respond(
  review: AdmissionReview,
  allowed: boolean,
  extra: Partial<NonNullable<AdmissionReview['response']>> = {},
) {
  return {
    apiVersion:
      typeof review.apiVersion === 'string' && review.apiVersion ? review.apiVersion : 'admission.k8s.io/v1',
    kind: 'AdmissionReview' as const,
    response: { uid: typeof review.request?.uid === 'string' ? review.request.uid : '', allowed, ...extra },
  };
}

export function deny(
  review: AdmissionReview,
  check: Exclude<AdmissionCheck, { allowed: true }>,
  kind: string,
  name: string,
) {
  const status =
    check.reason === 'Invalid'
      ? invalidStatus(IPAM_GROUP, kind, name, check.errors)
      : badRequestStatus(check.message);
  return respond(review, false, { status });
}

/** Defaulting is a no-op for IP pools (as in the Go provider): allowed, with an empty patch. */
export function mutate(review: AdmissionReview): AdmissionReview {
  return respond(review, true);
}

export const NOT_SYNCED: Status = {
  status: 'Failure',
  code: 503,
  reason: 'ServiceUnavailable',
  message: 'the controller has not synced yet; retry',
};

/**
 * An update that leaves the spec as stored: nothing to judge. The API server ratchets its own
 * schema validation the same way. A stored spec that no longer passes (it got in while the webhooks
 * were off, or under older rules) would otherwise block every finalizer, label and status-free
 * patch of its pool, the controller's ProtectPool finalizer among them, and so its deletion.
 * Nor does an unchanged spec need the controller's allocations, so this also holds before it synced.
 */
export function specUnchanged(req: AdmissionRequest): boolean {
  const specOf = (o: unknown) =>
    typeof o === 'object' && o !== null ? (o as { spec?: unknown }).spec : undefined;
  const spec = specOf(req.object);
  return spec !== undefined && isDeepStrictEqual(spec, specOf(req.oldObject));
}

/**
 * A pool delete, the same for every pool kind: refused while the pool holds allocations, unless it
 * carries the skip annotation; without that annotation it waits until the controller synced.
 */
export function validateDelete(
  review: AdmissionReview,
  req: AdmissionRequest,
  kind: string,
  name: string,
  view: AllocationView,
): AdmissionReview {
  const old = (
    typeof req.oldObject === 'object' && req.oldObject !== null ? req.oldObject : {}
  ) as KubeObject;
  const skip = hasAnnotation(old, ANNOTATION_SKIP_VALIDATE_DELETE_WEBHOOK);
  const allocated = view.allocatedAddresses(kind, req.namespace, name);
  if (allocated === undefined && !skip) return respond(review, false, { status: NOT_SYNCED });
  const check = validateIPPoolDelete(old, allocated?.length ?? 0);
  return check.allowed ? respond(review, true) : deny(review, check, kind, name);
}

/**
 * Create, update and delete checks of the Go provider. The object is checked against the schema
 * first: the API server calls admission webhooks before its own schema validation only for mutating
 * ones, but a webhook must not trust any caller with the shape of what it sends.
 */
export function validate(review: AdmissionReview, kind: string, view: AllocationView): AdmissionReview {
  const req = review.request;
  if (!req) return respond(review, false, { status: badRequestStatus('the AdmissionReview has no request') });
  const name = typeof req.name === 'string' ? req.name : '';
  if (req.operation === 'DELETE') return validateDelete(review, req, kind, name, view);
  const unchanged = req.operation === 'UPDATE' && specUnchanged(req);
  const shaped = specOfShape(req.object, kind);
  if ('errors' in shaped) {
    if (unchanged) return respond(review, true);
    return deny(review, { allowed: false, reason: 'Invalid', errors: shaped.errors }, kind, name);
  }
  const pool = { ...(req.object as IPPool), spec: shaped.spec };
  // Its warnings still come (an invalid spec has none), as on every apply.
  if (unchanged) return admit(review, kind, req, pool, view);
  if (req.operation === 'UPDATE') {
    const allocated = view.allocatedAddresses(kind, req.namespace, name);
    if (allocated === undefined) return respond(review, false, { status: NOT_SYNCED });
    const old = specOfShape(req.oldObject, kind);
    const oldSpec = 'spec' in old ? old.spec : undefined;
    const check = validateIPPoolUpdate(oldSpec ?? shaped.spec, shaped.spec, allocated, kind);
    if (!check.allowed) return deny(review, check, kind, name);
    const held = checkPreAllocationHolders(review, req, kind, name, oldSpec, shaped.spec, view);
    return 'refused' in held ? held.refused : admit(review, kind, req, pool, view, held.warnings);
  }
  const check = validateIPPoolCreate(shaped.spec, kind);
  return check.allowed ? admit(review, kind, req, pool, view) : deny(review, check, kind, name);
}

/** Allowed, with warnings for what the Go provider admits silently but is likely a mistake. */
function admit(
  review: AdmissionReview,
  kind: string,
  req: AdmissionRequest,
  pool: IPPool,
  view: AllocationView,
  more: readonly string[] = [],
): AdmissionReview {
  const self = { kind, namespace: req.namespace || undefined, name: req.name ?? '' };
  const warnings = [...ipPoolWarnings(self, pool.spec, view.knownPools?.() ?? []), ...more];
  return respond(review, true, warnings.length > 0 ? { warnings } : {});
}

export interface ConversionReview {
  apiVersion: string;
  kind: 'ConversionReview';
  request?: { uid: string; desiredAPIVersion: string; objects: KubeObject[] };
  response?: {
    uid: string;
    convertedObjects: KubeObject[];
    result: { status: 'Success' | 'Failure'; message?: string };
  };
}

/** A ConversionReview answer; the uid and apiVersion are echoed only when they are strings. */
function conversionAnswer(
  review: ConversionReview,
  result: { status: 'Success' | 'Failure'; message?: string },
  convertedObjects: KubeObject[] = [],
): ConversionReview {
  const apiVersion =
    typeof review.apiVersion === 'string' && review.apiVersion
      ? review.apiVersion
      : 'apiextensions.k8s.io/v1';
  const uid = typeof review.request?.uid === 'string' ? review.request.uid : '';
  return { apiVersion, kind: 'ConversionReview', response: { uid, convertedObjects, result } };
}

export function convert(review: ConversionReview): ConversionReview {
  const req = review.request;
  const converted: KubeObject[] = [];
  const objects: unknown = req?.objects ?? [];
  const failure = (message: string) => conversionAnswer(review, { status: 'Failure', message });
  if (!Array.isArray(objects)) return failure('request.objects must be a list');
  for (const obj of objects as unknown[]) {
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
      return failure('request.objects: every entry must be an object');
    }
    const out = convertIPPool(obj as KubeObject, req?.desiredAPIVersion ?? '');
    if (!out.ok) return failure(formatFieldError(out.error));
    converted.push(out.object);
  }
  return conversionAnswer(review, { status: 'Success' }, converted);
}

/** The answer to a review whose handler failed: denied with an InternalError, as controller-runtime does. */
export function erroredAdmission(review: AdmissionReview, err: Error): AdmissionReview {
  return respond(review, false, {
    status: {
      status: 'Failure',
      code: 500,
      reason: 'InternalError',
      message: `webhook error: ${err.message}`,
    },
  });
}

export function erroredConversion(review: ConversionReview, err: Error): ConversionReview {
  return conversionAnswer(review, { status: 'Failure', message: `conversion error: ${err.message}` });
}
