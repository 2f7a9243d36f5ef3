/**
 * An IPAddress of ours that is being deleted while no claim of its name exists. Its claim went
 * without our release (someone removed the ReleaseAddress finalizer to unstick it, perhaps while
 * the controller was down), then the IPAddress was deleted: by hand, or with its namespace. Nothing
 * else will ever take ProtectAddress off, so the address would stay held, the pool undeletable and
 * the namespace Terminating (the Go provider leaves it so). An IPAddress that is not being deleted
 * is left alone, claim or not: named like a claim to come, it is one to adopt (pre-seeded, moved),
 * and one whose claim is gone may still be in a machine's use; holding it is safe, freeing it not.
 */
import { FINALIZER_PROTECT_ADDRESS } from '../api/constants.js';
import { isNotFound, splitObjectKey } from '../kube/index.js';
import { handlesPoolRef, isDeleting } from './claim-rules.js';
import type { ControllerContext, LiveAddress } from './context.js';

/** Is this cached IPAddress one that releaseOrphanAddress would act on, if its claim is gone? */
export function isProtectedAndDeleting(a: LiveAddress | undefined): a is LiveAddress {
  return (
    a !== undefined &&
    isDeleting(a) &&
    (a.metadata.finalizers ?? []).includes(FINALIZER_PROTECT_ADDRESS) &&
    handlesPoolRef(a.spec?.poolRef)
  );
}

export async function releaseOrphanAddress(
  ctx: ControllerContext,
  key: string,
  signal: AbortSignal,
): Promise<void> {
  const address = ctx.addresses.get(key);
  if (!isProtectedAndDeleting(address)) return;
  const { namespace, name } = splitObjectKey(key);
  // The claim cache may not have a claim just created; only the API can say it is gone.
  try {
    await ctx.client.get(ctx.claimResource, name, namespace, signal);
    return;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  const finalizers = (address.metadata.finalizers ?? []).filter((f) => f !== FINALIZER_PROTECT_ADDRESS);
  try {
    await ctx.client.patch(
      ctx.addressResource,
      name,
      { metadata: { finalizers, resourceVersion: address.metadata.resourceVersion } },
      { namespace, fieldManager: ctx.fieldManager, signal },
    );
  } catch (err) {
    if (isNotFound(err)) return;
    throw err;
  }
  ctx.log.info(
    { IPAddress: { name, namespace }, address: address.spec?.address },
    `IPAddress ${key} is being deleted and its claim is gone; released ${address.spec?.address}`,
  );
  ctx.recorder.normal(
    address,
    'AddressReleased',
    `Released ${address.spec?.address}: the IPAddressClaim ${key} is gone`,
  );
}
