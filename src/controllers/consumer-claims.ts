/**
 * What the claim flow's consumers (control-plane endpoints, Service load balancers) share about
 * the claims they make and own: reading one that may be gone, the address the claim flow bound to
 * it, deleting exactly that claim, and remembering which owner a checked claim belongs to.
 */
import { canonicalIP } from '../ip/index.js';
import { isConflict, isNotFound } from '../kube/index.js';
import type { ControllerContext, LiveAddress, LiveClaim } from './context.js';

/** The result of a read, or undefined when the object is not found. */
export async function getOrUndefined<T>(read: Promise<T>): Promise<T | undefined> {
  try {
    return await read;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** The address the claim flow bound to the claim, once it did. */
export async function boundAddressOf(
  ctx: ControllerContext,
  claim: LiveClaim,
  signal: AbortSignal,
): Promise<string | undefined> {
  const ref = claim.status?.addressRef?.name;
  if (!ref) return undefined;
  const namespace = claim.metadata.namespace;
  // The claim's status names the IPAddress made before it; the IPAddress cache may still lag.
  const address =
    ctx.addresses.get(`${namespace}/${ref}`) ??
    (await getOrUndefined(ctx.client.get<LiveAddress>(ctx.addressResource, ref, namespace, signal)));
  const text = address?.spec?.address;
  return text === undefined ? undefined : (canonicalIP(text) ?? text);
}

/** Deletes this very claim (its uid); false when it is gone already or another one has its name. */
export async function deleteOwnClaim(
  ctx: ControllerContext,
  claim: LiveClaim,
  signal: AbortSignal,
): Promise<boolean> {
  try {
    await ctx.client.delete(ctx.claimResource, claim.metadata.name ?? '', claim.metadata.namespace, {
      preconditions: { uid: claim.metadata.uid ?? '' },
      signal,
    });
    return true;
  } catch (err) {
    if (isNotFound(err) || isConflict(err)) return false;
    throw err;
  }
}

/** Which owner incarnation a checked claim incarnation belongs to, to skip checking it again. */
export function ownershipKey(owner: { metadata: { uid?: string } }, claim: LiveClaim): string {
  return `${owner.metadata.uid ?? ''}/${claim.metadata.uid ?? ''}`;
}
