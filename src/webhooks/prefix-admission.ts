/**
 * Admission of the prefix pool kinds (anchor §2.2), pure like admission.ts: defaulting of
 * allocationPrefixLength, and the Go provider's create, update and delete checks and /128 warnings.
 * Updates that change the spec, and deletes, are checked against the controller's registry and
 * refused until it synced; an update that leaves the spec alone is admitted (see specUnchanged).
 */

import { badRequestStatus } from '../api/errors.js';
import { DEFAULT_ALLOCATION_PREFIX_LENGTH, type PrefixPoolSpec } from '../api/prefixpool-types.js';
import {
  prefixPoolWarnings,
  prefixSpecOfShape,
  validatePrefixPoolCreate,
  validatePrefixPoolUpdate,
} from '../api/validate-prefix.js';
import {
  type AdmissionReview,
  type AllocationView,
  checkPreAllocationHolders,
  deny,
  NOT_SYNCED,
  respond,
  specUnchanged,
  validateDelete,
} from './admission.js';

/**
 * The Go provider's Default: allocationPrefixLength 64 when unset or 0. The CRD default fills an
 * absent field before any webhook runs, so in a cluster this patches only an explicit 0 (which the
 * schema would refuse after defaulting otherwise) — as controller-runtime's patch does.
 */
export function mutatePrefixPool(review: AdmissionReview): AdmissionReview {
  const obj = review.request?.object as { spec?: unknown } | undefined;
  const spec = obj?.spec;
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) return respond(review, true);
  const length = (spec as { allocationPrefixLength?: unknown }).allocationPrefixLength;
  if (length !== undefined && length !== null && length !== 0) return respond(review, true);
  const op = length === undefined ? 'add' : 'replace';
  const patch = [{ op, path: '/spec/allocationPrefixLength', value: DEFAULT_ALLOCATION_PREFIX_LENGTH }];
  return respond(review, true, {
    patch: Buffer.from(JSON.stringify(patch)).toString('base64'),
    patchType: 'JSONPatch',
  });
}

export function validatePrefixPool(
  review: AdmissionReview,
  kind: string,
  view: AllocationView,
): AdmissionReview {
  const req = review.request;
  if (!req) return respond(review, false, { status: badRequestStatus('the AdmissionReview has no request') });
  const name = typeof req.name === 'string' ? req.name : '';
  if (req.operation === 'DELETE') return validateDelete(review, req, kind, name, view);
  const unchanged = req.operation === 'UPDATE' && specUnchanged(req);
  const shaped = prefixSpecOfShape(req.object, kind);
  if ('errors' in shaped) {
    if (unchanged) return respond(review, true);
    return deny(review, { allowed: false, reason: 'Invalid', errors: shaped.errors }, kind, name);
  }
  if (unchanged) return admit(review, shaped.spec);
  if (req.operation === 'UPDATE') {
    const allocated = view.allocatedAddresses(kind, req.namespace, name);
    if (allocated === undefined) return respond(review, false, { status: NOT_SYNCED });
    const old = prefixSpecOfShape(req.oldObject, kind);
    const oldSpec = 'spec' in old ? old.spec : undefined;
    const check = validatePrefixPoolUpdate(oldSpec ?? shaped.spec, shaped.spec, allocated, kind);
    if (!check.allowed) return deny(review, check, kind, name);
    const held = checkPreAllocationHolders(review, req, kind, name, oldSpec, shaped.spec, view);
    return 'refused' in held ? held.refused : admit(review, shaped.spec, held.warnings);
  }
  const check = validatePrefixPoolCreate(shaped.spec, kind);
  return check.allowed ? admit(review, shaped.spec) : deny(review, check, kind, name);
}

function admit(review: AdmissionReview, spec: PrefixPoolSpec, more: readonly string[] = []): AdmissionReview {
  const warnings = [...prefixPoolWarnings(spec), ...more];
  return respond(review, true, warnings.length > 0 ? { warnings } : {});
}
