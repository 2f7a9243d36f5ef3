/**
 * AdmissionReview v1 and ConversionReview v1 handling, pure: a review in, a review out. The server
 * only moves bytes; every decision is made here with the validation of src/api.
 */
import { IPAM_GROUP } from '../api/constants.js';
import { convertIPPool } from '../api/convert.js';
import { badRequestStatus, invalidStatus, type Status } from '../api/errors.js';
import type { IPPool } from '../api/ippool-types.js';
import type { KubeObject } from '../api/meta.js';
import {
  type AdmissionCheck,
  defaultIPPoolSpec,
  validateIPPoolCreate,
  validateIPPoolDelete,
  validateIPPoolUpdate,
} from '../api/validate.js';
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
}

function respond(
  review: AdmissionReview,
  allowed: boolean,
  extra: Partial<NonNullable<AdmissionReview['response']>> = {},
) {
  return {
    apiVersion: review.apiVersion || 'admission.k8s.io/v1',
    kind: 'AdmissionReview' as const,
    response: { uid: review.request?.uid ?? '', allowed, ...extra },
  };
}

function deny(
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

function isPool(value: unknown): value is IPPool {
  return (
    typeof value === 'object' && value !== null && typeof (value as { spec?: unknown }).spec === 'object'
  );
}

/** Defaulting is a no-op for IP pools (as in the Go provider): allowed, with an empty patch. */
export function mutate(review: AdmissionReview): AdmissionReview {
  const obj = review.request?.object;
  if (isPool(obj)) defaultIPPoolSpec(obj.spec);
  return respond(review, true);
}

export function validate(review: AdmissionReview, kind: string, view: AllocationView): AdmissionReview {
  const req = review.request;
  if (!req) return respond(review, false, { status: badRequestStatus('the AdmissionReview has no request') });
  const name = req.name ?? '';
  if (req.operation === 'DELETE') {
    const old = req.oldObject as KubeObject | undefined;
    const allocated = view.allocatedAddresses(kind, req.namespace, name);
    if (
      allocated === undefined &&
      !old?.metadata?.annotations?.['ipam.cluster.x-k8s.io/skip-validate-delete-webhook']
    ) {
      return respond(review, false, {
        status: {
          status: 'Failure',
          code: 503,
          reason: 'ServiceUnavailable',
          message: 'the controller has not synced yet; retry',
        },
      });
    }
    const check = validateIPPoolDelete(old ?? {}, allocated?.length ?? 0);
    return check.allowed ? respond(review, true) : deny(review, check, kind, name);
  }
  if (!isPool(req.object)) {
    return respond(review, false, { status: badRequestStatus('the object has no spec') });
  }
  if (req.operation === 'UPDATE' && isPool(req.oldObject)) {
    const allocated = view.allocatedAddresses(kind, req.namespace, name);
    if (allocated === undefined) {
      return respond(review, false, {
        status: {
          status: 'Failure',
          code: 503,
          reason: 'ServiceUnavailable',
          message: 'the controller has not synced yet; retry',
        },
      });
    }
    const check = validateIPPoolUpdate(req.oldObject.spec, req.object.spec, allocated);
    return check.allowed ? admit(review, kind, req, req.object, view) : deny(review, check, kind, name);
  }
  const check = validateIPPoolCreate(req.object.spec);
  return check.allowed ? admit(review, kind, req, req.object, view) : deny(review, check, kind, name);
}

/** Allowed, with warnings for what the Go provider admits silently but is likely a mistake. */
function admit(
  review: AdmissionReview,
  kind: string,
  req: AdmissionRequest,
  pool: IPPool,
  view: AllocationView,
): AdmissionReview {
  const self = { kind, namespace: req.namespace || undefined, name: req.name ?? '' };
  const warnings = ipPoolWarnings(self, pool.spec, view.knownPools?.() ?? []);
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

export function convert(review: ConversionReview): ConversionReview {
  const req = review.request;
  const uid = req?.uid ?? '';
  const converted: KubeObject[] = [];
  for (const obj of req?.objects ?? []) {
    const out = convertIPPool(obj, req?.desiredAPIVersion ?? '');
    if (!out.ok) {
      return {
        apiVersion: review.apiVersion,
        kind: 'ConversionReview',
        response: {
          uid,
          convertedObjects: [],
          result: { status: 'Failure', message: `${out.error.field}: ${out.error.detail}` },
        },
      };
    }
    converted.push(out.object);
  }
  return {
    apiVersion: review.apiVersion,
    kind: 'ConversionReview',
    response: { uid, convertedObjects: converted, result: { status: 'Success' } },
  };
}
